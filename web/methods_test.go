package web_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAPIMethodNotAllowedSaysAllow: a method a path does not take answers
// 405 with an Allow header listing those it does (RFC 9110 §15.5.6), in
// the API's JSON.
func TestAPIMethodNotAllowedSaysAllow(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for path, allow := range map[string]string{
		"/api/v1/incidents/1":          "GET, HEAD, PATCH",
		"/api/v1/incidents":            "GET, HEAD, POST",
		"/api/v1/incidents/1/updates":  "POST",
		"/api/v1/incidents/1/timeline": "GET, HEAD",
		"/api/v1/openapi.json":         "GET, HEAD",
	} {
		req, err := http.NewRequest(http.MethodDelete, f.srv.URL+path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, path)
		require.Equal(t, allow, resp.Header.Get("Allow"), path)
		require.Contains(t, string(body), `"code":"method_not_allowed"`, path)
	}
}

// TestHeadAnswersAsGet: HEAD of a page or an API read answers as GET
// does, with its status and headers and no body (RFC 9110 §9.3.2): the
// token and the session are checked the same.
func TestHeadAnswersAsGet(t *testing.T) {
	t.Parallel()
	f := setup(t)
	admin := f.browser()
	admin.signIn(f.alice)
	token := createToken(t, admin, "monitor", "read", "")
	do := func(client *http.Client, method, path, token string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, f.srv.URL+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(body)
	}
	for _, path := range []string{"/api/v1/incidents", "/api/v1/incidents/1", "/api/v1/incidents/1/timeline",
		"/api/v1/incidents/1/follow-ups", "/api/v1/metrics", "/api/v1/openapi.json", "/api/v1/incidents/99"} {
		get, _ := do(http.DefaultClient, http.MethodGet, path, token)
		head, body := do(http.DefaultClient, http.MethodHead, path, token)
		require.Equal(t, get.StatusCode, head.StatusCode, path)
		require.Equal(t, get.Header.Get("Content-Type"), head.Header.Get("Content-Type"), path)
		require.Empty(t, body, path)
	}
	head, _ := do(http.DefaultClient, http.MethodHead, "/api/v1/incidents/1", "")
	require.Equal(t, http.StatusUnauthorized, head.StatusCode, "no token, no answer")

	for _, path := range []string{"/incidents", "/incidents/1", "/reports/metrics", "/incidents/1/timeline.csv"} {
		get, _ := do(admin.client, http.MethodGet, path, "")
		head, body := do(admin.client, http.MethodHead, path, "")
		require.Equal(t, http.StatusOK, get.StatusCode, path)
		require.Equal(t, get.StatusCode, head.StatusCode, path)
		require.Equal(t, get.Header.Get("Content-Type"), head.Header.Get("Content-Type"), path)
		require.Empty(t, body, path)
	}
	signedOut := f.browser()
	head, _ = do(signedOut.client, http.MethodHead, "/incidents", "")
	require.Equal(t, http.StatusFound, head.StatusCode, "signed out, sent to sign in")
}
