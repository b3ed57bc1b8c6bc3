package changehook_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/changes"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/storetest"
	"github.com/firebreakhq/firebreak/integrations/changehook"
)

// TestRetryWithoutOccurredAtIsADuplicate: a sender that gives no occurred_at
// and retries (its first answer lost) delivers the same change a minute
// later. The bot answers duplicate:true and keeps the change as first
// recorded, at the time the first delivery arrived, as the webhook's
// documentation promises; on every store, through the domain's recording.
func TestRetryWithoutOccurredAtIsADuplicate(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Every {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			clock := incidenttest.NewClock(now)
			store := storetest.Open[changes.Store](t, kind, clock, incidenttest.NewQueue())
			policy := incident.DefaultPolicy()
			policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout"}}
			svc := changes.New(changes.Config{Store: store, Policy: policy, Clock: clock})
			h := changehook.NewHandler(secret, svc.RecordChange, nil, changehook.WithClock(clock))
			body := `{"id":"run-4821","source":"jenkins","service":"checkout","kind":"deploy","summary":"Deployed checkout 1.42"}`

			w := deliver(t, h, body, clock.Now(), secret)
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			require.JSONEq(t, `{"id":"run-4821","duplicate":false}`, w.Body.String())
			first := clock.Now()

			clock.Advance(time.Minute)
			w = deliver(t, h, body, clock.Now(), secret)
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			require.JSONEq(t, `{"id":"run-4821","duplicate":true}`, w.Body.String(), "the retry is a duplicate")

			got, err := store.ListChangeEvents(context.Background(), "checkout", first.Add(-time.Hour), clock.Now())
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.True(t, first.Equal(got[0].OccurredAt), "the change keeps its first time: %s", got[0].OccurredAt)
		})
	}
}
