package pagerduty_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Somebody resolved the incident in PagerDuty before the bot resolves its
// page (the webhook saying so is not in yet): PagerDuty answers 400
// "Incident Already Resolved", and the page is resolved all the same, so
// the job resolving an incident's pages does not fail on it.
func TestResolveAnIncidentResolvedInPagerDutyAlready(t *testing.T) {
	t.Parallel()
	b := setup(t)
	page, err := b.client.Page(t.Context(), b.request(b.rest))
	require.NoError(t, err)
	b.clock.Advance(time.Minute)
	_, err = b.client.Resolve(t.Context(), *page)
	require.NoError(t, err)

	b.clock.Advance(time.Minute)
	at, err := b.client.Resolve(t.Context(), *page)
	require.NoError(t, err)
	require.Equal(t, t0.Add(time.Minute), at, "PagerDuty's time of the resolution that came first")
	require.Len(t, callsTo(b.fake, http.MethodPut, "/incidents"), 2, "not retried")
	inc, _ := b.fake.Incident(page.ExternalID)
	require.Equal(t, "resolved", inc.Status)
}
