package unleashfake_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/unleash/unleashfake"
)

func TestSearchEventsFilters(t *testing.T) {
	t.Parallel()
	fake := unleashfake.New("tok")
	day := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	fake.AddEvent(unleashfake.Event{Type: "feature-environment-enabled", CreatedAt: day, Project: "p", Environment: "production", FeatureName: "a"})
	fake.AddEvent(unleashfake.Event{Type: "feature-environment-enabled", CreatedAt: day.AddDate(0, 0, -3), Project: "p", Environment: "production", FeatureName: "a"})
	fake.AddEvent(unleashfake.Event{Type: "feature-strategy-update", CreatedAt: day, Project: "p", Environment: "staging", FeatureName: "b"})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)

	tests := []struct {
		name, auth, query string
		wantStatus        int
		wantIDs           []int64
	}{
		{"no token", "", "", http.StatusUnauthorized, nil},
		{"all, newest first", "tok", "", http.StatusOK, []int64{3, 2, 1}},
		{"feature", "tok", "?feature=IS:a", http.StatusOK, []int64{2, 1}},
		{"any of", "tok", "?feature=IS_ANY_OF:a,b&environment=IS:production", http.StatusOK, []int64{2, 1}},
		{"date range", "tok", "?from=IS:2026-03-01&to=IS:2026-03-01", http.StatusOK, []int64{3, 1}},
		{"paging", "tok", "?limit=1&offset=1", http.StatusOK, []int64{2}},
		{"bad operator", "tok", "?feature=a", http.StatusBadRequest, nil},
		{"bad date", "tok", "?from=2026-03-01", http.StatusBadRequest, nil},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/admin/search/events"+tt.query, nil)
		require.NoError(t, err)
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		var body struct {
			Events []struct {
				ID int64 `json:"id"`
			} `json:"events"`
			Total int `json:"total"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		require.Equal(t, tt.wantStatus, resp.StatusCode, tt.name)
		if tt.wantStatus != http.StatusOK {
			continue
		}
		var ids []int64
		for _, e := range body.Events {
			ids = append(ids, e.ID)
		}
		require.Equal(t, tt.wantIDs, ids, tt.name)
	}
}

func TestToggleWritesEvent(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fake := unleashfake.New("tok", unleashfake.WithNow(func() time.Time { return at }))
	fake.AddFeature(unleashfake.Feature{Project: "p", Name: "a", Enabled: map[string]bool{"production": true}})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	for _, path := range []string{"/environments/production/off", "/environments/production/off", "/environments/nope/off"} {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/admin/projects/p/features/a"+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "tok")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	on, ok := fake.Enabled("p", "a", "production")
	require.True(t, ok)
	require.False(t, on)
	events := fake.Events()
	require.Len(t, events, 1, "a second off changes nothing")
	require.Equal(t, "feature-environment-disabled", events[0].Type)
	require.Equal(t, at, events[0].CreatedAt)
}
