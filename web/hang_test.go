package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
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
		c.RequestTimeout = 200 * time.Millisecond
	})
	admin := f.browser()
	admin.signIn(f.alice)
	token := createToken(t, admin, "grafana", "read", "")
	// The client gives up long after the request's time: on a server
	// that does not bound its requests it fails the test, not hangs it.
	admin.client.Timeout = time.Minute
	api := func(path string) (int, string) {
		req, err := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
		require.NoError(t, err, "the API answers while the database hangs")
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	const said = "did not answer in time"

	readsHang.Store(true)
	for _, path := range []string{"/incidents", "/incidents/1", "/incidents/1/timeline.csv", "/reports/metrics"} {
		resp, err := admin.client.Get(f.srv.URL + path)
		require.NoError(t, err, "%s answers while the database hangs", path)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s: %s", path, body)
		require.Contains(t, string(body), said, path)
		require.NotContains(t, string(body), "deadline", path)
	}
	for _, path := range []string{"/api/v1/incidents", "/api/v1/incidents/1", "/api/v1/metrics"} {
		status, body := api(path)
		require.Equal(t, http.StatusServiceUnavailable, status, "%s: %s", path, body)
		require.Contains(t, body, `"code":"unavailable"`, path)
		require.Contains(t, body, said, path)
		require.False(t, strings.Contains(body, "deadline") || strings.Contains(body, "list incidents"), "%s: %s", path, body)
	}

	// The sessions and tokens are in the same database.
	readsHang.Store(false)
	accessHangs.Store(true)
	resp, err := admin.client.Get(f.srv.URL + "/incidents")
	require.NoError(t, err, "a page answers while the session cannot be read")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), said)
	status, apiBody := api("/api/v1/incidents")
	require.Equal(t, http.StatusServiceUnavailable, status, apiBody)
	require.Contains(t, apiBody, said)

	// Back to normal once the database is.
	accessHangs.Store(false)
	status, apiBody = api("/api/v1/incidents")
	require.Equal(t, http.StatusOK, status, apiBody)
}
