package ldfake_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/launchdarkly/ldfake"
)

func TestAuditLogValidationAndAuth(t *testing.T) {
	t.Parallel()
	fake := ldfake.New("tok")
	fake.AddAuditEntry(ldfake.AuditEntry{Date: time.Unix(100, 0), Project: "p", Environment: "e", FlagKey: "f"})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)

	tests := []struct {
		name, auth, query string
		want              int
	}{
		{"no key", "", "", http.StatusUnauthorized},
		{"bearer prefix is not LaunchDarkly's scheme", "Bearer tok", "", http.StatusUnauthorized},
		{"limit too high", "tok", "?limit=21", http.StatusBadRequest},
		{"limit zero", "tok", "?limit=0", http.StatusBadRequest},
		{"bad after", "tok", "?after=yesterday", http.StatusBadRequest},
		{"ok", "tok", "?limit=20&spec=proj/p:env/*:flag/f", http.StatusOK},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/v2/auditlog"+tt.query, nil)
		require.NoError(t, err)
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		var body struct {
			Items []map[string]any `json:"items"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		require.Equal(t, tt.want, resp.StatusCode, tt.name)
		if tt.want == http.StatusOK {
			require.Len(t, body.Items, 1, tt.name)
		}
	}
}

func TestSpecMatching(t *testing.T) {
	t.Parallel()
	fake := ldfake.New("tok")
	fake.AddAuditEntry(ldfake.AuditEntry{ID: "a", Date: time.Unix(100, 0), Project: "p", Environment: "prod", FlagKey: "f"})
	fake.AddAuditEntry(ldfake.AuditEntry{ID: "b", Date: time.Unix(101, 0), Project: "p", Environment: "dev", FlagKey: "f"})
	fake.AddAuditEntry(ldfake.AuditEntry{ID: "c", Date: time.Unix(102, 0), Project: "q", Environment: "prod", FlagKey: "f"})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	for spec, want := range map[string][]string{
		"proj/p:env/prod:flag/f": {"a"},
		"proj/p:env/*:flag/f":    {"b", "a"},
		"proj/*:env/prod:flag/*": {"c", "a"},
	} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/v2/auditlog?spec="+spec, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "tok")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		var body struct {
			Items []struct {
				ID string `json:"_id"`
			} `json:"items"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		resp.Body.Close()
		var ids []string
		for _, it := range body.Items {
			ids = append(ids, it.ID)
		}
		require.Equal(t, want, ids, spec)
	}
}
