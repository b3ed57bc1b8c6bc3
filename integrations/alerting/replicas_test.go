package alerting_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/storetest"
	"github.com/firebreakhq/firebreak/integrations/alerting"
)

// TestGrafanaRetryOfAFailedDeliveryIsTakenByAnotherReplica: two replicas
// share the database's delivery records. Grafana's delivery fails on
// replica A (the alert could not be handled: 500); Grafana retries at once,
// with the same timestamp and signature, and the load balancer sends the
// retry to replica B, which takes it: A gave the delivery back. Taken
// once, it is a replay again, on either replica.
func TestGrafanaRetryOfAFailedDeliveryIsTakenByAnotherReplica(t *testing.T) {
	t.Parallel()
	for _, kind := range []storetest.Kind{storetest.SQLite, storetest.Postgres} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			now := time.Date(2026, 8, 7, 14, 21, 0, 0, time.UTC)
			store := storetest.Open[alerting.Deliveries](t, kind, incidenttest.NewClock(now), incidenttest.NewQueue())
			auth := alerting.Auth{HMACSecrets: []string{"gf-secret"}, Deliveries: store, Now: func() time.Time { return now }}
			a, b := &sink{fail: errors.New("database down")}, &sink{}
			replicaA := httptest.NewServer(alerting.NewGrafanaHandler(auth, a.take, nil))
			t.Cleanup(replicaA.Close)
			replicaB := httptest.NewServer(alerting.NewGrafanaHandler(auth, b.take, nil))
			t.Cleanup(replicaB.Close)
			body := fixture(t, "grafana.json")
			signed := signedAt("gf-secret", now, body)

			require.Equal(t, http.StatusInternalServerError, send(t, replicaA.URL, body, signed))
			require.Equal(t, http.StatusOK, send(t, replicaB.URL, body, signed), "Grafana's retry, on the other replica")
			require.Len(t, b.taken(), 1, "the alert taken")

			require.Equal(t, http.StatusUnauthorized, send(t, replicaB.URL, body, signed), "taken once")
			a.mu.Lock()
			a.fail = nil
			a.mu.Unlock()
			require.Equal(t, http.StatusUnauthorized, send(t, replicaA.URL, body, signed), "on every replica")
			require.Empty(t, a.taken())
		})
	}
}

// taken is what the sink took so far.
func (s *sink) taken() []incident.AlertEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// send posts a delivery to a receiver over HTTP and returns its status.
func send(t *testing.T, url string, body []byte, header map[string]string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/webhooks/grafana", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode
}

// hangingForget is a store whose ForgetDelivery waits until its context
// ends, as on a database that stopped answering.
type hangingForget struct{ alerting.Deliveries }

func (h hangingForget) ForgetDelivery(ctx context.Context, _, _ string) error {
	<-ctx.Done()
	return ctx.Err()
}

// A delivery that could not be handled because the database hangs is
// answered 500 promptly: giving it back has a second of its own, not
// however long the database hangs.
func TestFailedDeliveryIsAnsweredWhileTheDatabaseHangs(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 8, 7, 14, 21, 0, 0, time.UTC)
	store := storetest.Open[alerting.Deliveries](t, storetest.SQLite, incidenttest.NewClock(now), incidenttest.NewQueue())
	auth := alerting.Auth{HMACSecrets: []string{"gf-secret"}, Deliveries: hangingForget{store}, Now: func() time.Time { return now }}
	a := &sink{fail: errors.New("database down")}
	srv := httptest.NewServer(alerting.NewGrafanaHandler(auth, a.take, nil))
	t.Cleanup(srv.Close)
	body := fixture(t, "grafana.json")
	// Before, this call waited as long as the database hung: for ever.
	require.Equal(t, http.StatusInternalServerError, send(t, srv.URL, body, signedAt("gf-secret", now, body)))
}
