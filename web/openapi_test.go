package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/web"
)

func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(web.OpenAPI())
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()), "the document is valid OpenAPI 3")
	return doc
}

// TestOpenAPIMatchesRoutes checks that the document lists exactly the
// routes the server serves under /api/v1, method for method.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	doc := loadDoc(t)

	r := chi.NewRouter()
	f.web.Routes(r)
	// HEAD is GET without the body (RFC 9110 §9.3.2): every GET answers
	// it, and the document lists the GET alone.
	var served, heads []string
	require.NoError(t, chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if rest, ok := strings.CutPrefix(route, "/api/v1"); ok {
			route := strings.TrimSuffix(rest, "/")
			if method == http.MethodHead {
				heads = append(heads, route)
				return nil
			}
			served = append(served, method+" "+route)
		}
		return nil
	}))
	var gets []string
	for _, s := range served {
		if route, ok := strings.CutPrefix(s, "GET "); ok {
			gets = append(gets, route)
		}
	}
	sort.Strings(gets)
	sort.Strings(heads)
	require.Equal(t, gets, heads, "every GET answers HEAD, and only they")
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	sort.Strings(served)
	sort.Strings(documented)
	require.Equal(t, documented, served)
}

// TestOpenAPIDescribesRealResponses sends real requests to the real
// handlers and validates each request and response against the document.
func TestOpenAPIDescribesRealResponses(t *testing.T) {
	t.Parallel()
	f := setup(t)
	doc := loadDoc(t)
	doc.Servers = openapi3.Servers{{URL: f.srv.URL + "/api/v1"}}
	router, err := gorillamux.NewRouter(doc)
	require.NoError(t, err)

	admin := f.browser()
	admin.signIn(f.alice)
	read := createToken(t, admin, "reader", "read", "")
	write := createToken(t, admin, "writer", "write", "")

	check := func(token, method, path, body string, wantStatus int) {
		t.Helper()
		req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		route, params, err := router.FindRoute(req)
		require.NoError(t, err, "%s %s is documented", method, path)
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if wantStatus < 400 {
			require.NoError(t, openapi3filter.ValidateRequest(context.Background(), in), "%s %s request", method, path)
		}
		// ValidateRequest read the body; send a fresh copy.
		req.Body = io.NopCloser(strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, wantStatus, resp.StatusCode, "%s %s: %s", method, path, got)
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
			Body: io.NopCloser(bytes.NewReader(got)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
		require.NoError(t, openapi3filter.ValidateResponse(context.Background(), out), "%s %s response %d: %s", method, path, resp.StatusCode, got)
	}

	check(read, http.MethodGet, "/api/v1/incidents", "", 200)
	check(read, http.MethodGet, "/api/v1/incidents?status=resolved&severity=P1&drills=include&limit=5", "", 200)
	check(read, http.MethodGet, "/api/v1/incidents?severity=P7", "", 400)
	check(read, http.MethodGet, "/api/v1/incidents?limit=0", "", 400)
	check(read, http.MethodGet, "/api/v1/incidents?cursor=nope", "", 400)
	_, body := apiCall(t, f, read, http.MethodGet, "/api/v1/incidents?limit=1", "")
	var first struct {
		NextCursor string `json:"next_cursor"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &first))
	require.NotEmpty(t, first.NextCursor, body)
	check(read, http.MethodGet, "/api/v1/incidents?limit=1&cursor="+url.QueryEscape(first.NextCursor), "", 200)
	check(read, http.MethodGet, "/api/v1/incidents?status=resolved&cursor="+url.QueryEscape(first.NextCursor), "", 200)
	check(read, http.MethodGet, "/api/v1/incidents/1", "", 200)
	check(read, http.MethodGet, "/api/v1/incidents/99", "", 404)
	check(read, http.MethodGet, "/api/v1/incidents/1/timeline", "", 200)
	check(read, http.MethodGet, "/api/v1/incidents/1/follow-ups", "", 200)
	check(read, http.MethodGet, "/api/v1/metrics", "", 200)
	check(read, http.MethodGet, "/api/v1/metrics?period=90d&service=checkout&drills=include", "", 200)
	check(read, http.MethodGet, "/api/v1/metrics?period=9y", "", 400)
	check("", http.MethodGet, "/api/v1/incidents", "", 401)
	check(read, http.MethodPost, "/api/v1/incidents", `{"title":"x","severity":"P3"}`, 403)
	check(write, http.MethodPost, "/api/v1/incidents", `{"title":"queue backlog","severity":"P3","description":"jobs pile up","idempotency_key":"k1"}`, 201)
	check(write, http.MethodPost, "/api/v1/incidents", `{"title":"queue backlog","severity":"P3","description":"jobs pile up","idempotency_key":"k1"}`, 200)
	check(write, http.MethodPost, "/api/v1/incidents", `{"title":"queue stuck","severity":"P3","description":"jobs pile up","idempotency_key":"k1"}`, 409)
	check(write, http.MethodPost, "/api/v1/incidents", `{"title":"","severity":"P3"}`, 400)
	check(write, http.MethodPost, "/api/v1/incidents", `{"title":"game day","severity":"P2","drill":true}`, 201)
	check(write, http.MethodPatch, "/api/v1/incidents/4", `{"status":"investigating"}`, 200)
	check(write, http.MethodPatch, "/api/v1/incidents/4", `{"status":"resolved","summary":"drained the queue"}`, 200)
	check(write, http.MethodPatch, "/api/v1/incidents/4", `{"status":"declared"}`, 409)
	check(write, http.MethodPatch, "/api/v1/incidents/4", `{"status":"closed","summary":"`+strings.Repeat("s", 70<<10)+`"}`, 413)
	check(write, http.MethodPost, "/api/v1/incidents/3/updates", `{"known":"replica promoted","doing":"checking lag"}`, 201)
	check(write, http.MethodPost, "/api/v1/incidents/3/updates", `{"doing":"failing back","status":"investigating","next_update_minutes":15}`, 201)
	check(write, http.MethodPost, "/api/v1/incidents/3/updates", `{"known":"rolled back","status":"resolved"}`, 400)
	check(write, http.MethodPost, "/api/v1/incidents/3/updates", `{"known":"`+strings.Repeat("k", 70<<10)+`"}`, 413)
	check(write, http.MethodPost, "/api/v1/incidents/4/updates", `{"known":"drained the queue"}`, 409)
	check(write, http.MethodPost, "/api/v1/incidents/99/updates", `{"known":"drained the queue"}`, 404)
	check(read, http.MethodPost, "/api/v1/incidents/3/updates", `{"known":"drained the queue"}`, 403)
	check("", http.MethodGet, "/api/v1/openapi.json", "", 200)

	// A token made before tokens acted only as their creator, acting as
	// someone else, answers 403 on every call.
	secret := "fbk_" + strings.Repeat("b", 43)
	require.NoError(t, f.access.CreateAPIToken(context.Background(), &incident.APIToken{Name: "legacy", Hash: sha256Hex(secret),
		Prefix: secret[:10], Scope: incident.ScopeWrite, ActAs: f.bob.ID, CreatedBy: f.alice.ID, CreatedAt: t0}))
	for _, path := range []string{"/api/v1/incidents", "/api/v1/incidents/1", "/api/v1/incidents/1/timeline", "/api/v1/incidents/1/follow-ups", "/api/v1/metrics"} {
		check(secret, http.MethodGet, path, "", 403)
	}
	check(secret, http.MethodPatch, "/api/v1/incidents/1", `{"severity":"P2"}`, 403)

	// While Slack cannot say which channels the token's person is in, a
	// private incident they are not named in answers 404, as a missing
	// one does, and the list and the metrics answer 200 without it, saying
	// so (membership_unknown), as documented.
	f.slack.ErrorNext("users.conversations", 20, "internal_error")
	f.clock.Advance(2 * time.Minute) // past the people's channels read for the lists above
	private := "/api/v1/incidents/" + itoa(f.private.Number)
	check(read, http.MethodGet, private, "", 404)
	check(read, http.MethodGet, private+"/timeline", "", 404)
	check(read, http.MethodGet, private+"/follow-ups", "", 404)
	check(write, http.MethodPatch, private, `{"severity":"P1"}`, 404)
	check(write, http.MethodPost, private+"/updates", `{"known":"rotated the keys"}`, 404)
	check(read, http.MethodGet, "/api/v1/incidents", "", 200)
	check(read, http.MethodGet, "/api/v1/metrics?period=7d", "", 200)
}
