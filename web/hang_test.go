package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/web"
)

// hangingReader is the store's reads on a database that stops answering
// while hang is set: each read waits until its context ends and fails as
// the drivers do then, with the context's error.
type hangingReader struct {
	web.Reader
	hang *atomic.Bool
}

func waitOut(ctx context.Context, hang *atomic.Bool, op string) error {
	if !hang.Load() {
		return nil
	}
	<-ctx.Done()
	return fmt.Errorf("%s: %w", op, ctx.Err())
}

func (h hangingReader) ListIncidents(ctx context.Context, f incident.IncidentFilter) ([]*incident.Incident, error) {
	if err := waitOut(ctx, h.hang, "list incidents"); err != nil {
		return nil, err
	}
	return h.Reader.ListIncidents(ctx, f)
}

func (h hangingReader) GetIncidentByNumber(ctx context.Context, n int64) (*incident.Incident, error) {
	if err := waitOut(ctx, h.hang, "get incident"); err != nil {
		return nil, err
	}
	return h.Reader.GetIncidentByNumber(ctx, n)
}

// hangingAccess is the sessions and tokens on the same database.
type hangingAccess struct {
	incident.AccessStore
	hang *atomic.Bool
}

func (h hangingAccess) GetSession(ctx context.Context, id string) (*incident.WebSession, error) {
	if err := waitOut(ctx, h.hang, "get session"); err != nil {
		return nil, err
	}
	return h.AccessStore.GetSession(ctx, id)
}

func (h hangingAccess) GetAPITokenByHash(ctx context.Context, hash string) (*incident.APIToken, error) {
	if err := waitOut(ctx, h.hang, "get API token"); err != nil {
		return nil, err
	}
	return h.AccessStore.GetAPITokenByHash(ctx, hash)
}

// TestDatabaseThatHangsIsAnsweredWithinTheRequestTime: while the database
// takes connections but answers nothing, every page and API call answers
// 503 with a plain message once the request's time is up, instead of
// leaving the browser or the integration waiting for as long as the
// database hangs.
func TestDatabaseThatHangsIsAnsweredWithinTheRequestTime(t *testing.T) {
	t.Parallel()
	var readsHang, accessHangs atomic.Bool
	f := setup(t, func(c *web.Config) {
		c.Reader = hangingReader{Reader: c.Reader, hang: &readsHang}
		c.Access = hangingAccess{AccessStore: c.Access, hang: &accessHangs}
		// Long enough for the sign-in and the token below on a busy
		// machine; the calls that hang are made at once, so the test
		// waits it out twice.
		c.RequestTimeout = 2 * time.Second
	})
	admin := f.browser()
	admin.signIn(f.alice)
	token := createToken(t, admin, "grafana", "read", "")
	// The client gives up long after the request's time: on a server
	// that does not bound its requests it fails the test, not hangs it.
	admin.client.Timeout = time.Minute
	type answer struct {
		path   string
		status int
		body   string
		err    error
	}
	// getAll asks for every path at once, the API's with the token and
	// the pages with the browser's session.
	getAll := func(paths ...string) []answer {
		out := make([]answer, len(paths))
		var wg sync.WaitGroup
		for i, path := range paths {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[i].path = path
				req, err := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
				if err != nil {
					out[i].err = err
					return
				}
				if strings.HasPrefix(path, "/api/") {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := admin.client.Do(req)
				if err != nil {
					out[i].err = err
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				out[i].status, out[i].body, out[i].err = resp.StatusCode, string(b), err
			}()
		}
		wg.Wait()
		return out
	}
	const said = "did not answer in time"
	check := func(a answer) {
		t.Helper()
		require.NoError(t, a.err, "%s answers while the database hangs", a.path)
		require.Equal(t, http.StatusServiceUnavailable, a.status, "%s: %s", a.path, a.body)
		require.Contains(t, a.body, said, a.path)
		require.False(t, strings.Contains(a.body, "deadline") || strings.Contains(a.body, "list incidents"), "%s: %s", a.path, a.body)
		if strings.HasPrefix(a.path, "/api/") {
			require.Contains(t, a.body, `"code":"unavailable"`, a.path)
		}
	}

	readsHang.Store(true)
	for _, a := range getAll("/incidents", "/incidents/1", "/incidents/1/timeline.csv", "/reports/metrics",
		"/api/v1/incidents", "/api/v1/incidents/1", "/api/v1/metrics") {
		check(a)
	}

	// The sessions and tokens are in the same database.
	readsHang.Store(false)
	accessHangs.Store(true)
	for _, a := range getAll("/incidents", "/api/v1/incidents") {
		check(a)
	}

	// Back to normal once the database is.
	accessHangs.Store(false)
	a := getAll("/api/v1/incidents")[0]
	require.NoError(t, a.err)
	require.Equal(t, http.StatusOK, a.status, a.body)
}
