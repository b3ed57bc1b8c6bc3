package pagerduty_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/PagerDuty/go-pagerduty"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// ackInPagerDuty acknowledges the incident as the user with email would
// from the PagerDuty app.
func ackInPagerDuty(t *testing.T, b *bundle, id, email string) {
	t.Helper()
	pd := pagerduty.NewClient(b.fake.Token(), pagerduty.WithAPIEndpoint(b.fake.URL()))
	_, err := pd.ManageIncidentsWithContext(context.Background(), email, []pagerduty.ManageIncidentsOptions{{ID: id, Status: "acknowledged"}})
	require.NoError(t, err)
}

// PagerDuty refuses to acknowledge an incident acknowledged already: a 400
// with error code 1002, "Incident Already Acknowledged" (developer-docs
// REST-API/14-Errors.md). When the person acknowledging is the one who
// did (in the PagerDuty app, before clicking in Slack), their
// acknowledgement stands: it is a success at PagerDuty's time of it. When
// somebody else did, it is a conflict that names them, so the person can
// be told the truth; neither is retried.
func TestAcknowledgeAnIncidentAcknowledgedInPagerDutyAlready(t *testing.T) {
	t.Parallel()
	t.Run("by the same person", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		page, err := b.client.Page(t.Context(), b.request(b.rest))
		require.NoError(t, err)
		b.clock.Advance(time.Minute)
		ackInPagerDuty(t, b, page.ExternalID, b.bob.Email)

		b.clock.Advance(time.Minute)
		at, err := b.client.Acknowledge(t.Context(), *page, b.bob.Email)
		require.NoError(t, err)
		require.Equal(t, t0.Add(time.Minute), at, "PagerDuty's time of the acknowledgement that stands")
		require.Len(t, callsTo(b.fake, http.MethodPut, "/incidents"), 2, "not retried")
	})
	t.Run("by somebody else", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		page, err := b.client.Page(t.Context(), b.request(b.rest))
		require.NoError(t, err)
		b.clock.Advance(time.Minute)
		ackInPagerDuty(t, b, page.ExternalID, b.bob.Email)

		b.clock.Advance(time.Minute)
		_, err = b.client.Acknowledge(t.Context(), *page, b.carol.Email)
		require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "%v", err)
		require.Equal(t, "It is acknowledged already in PagerDuty, by Bob Primary.", incident.ErrorMessage(err))
		require.Len(t, callsTo(b.fake, http.MethodPut, "/incidents"), 2, "not retried")
		inc, _ := b.fake.Incident(page.ExternalID)
		require.Equal(t, b.bob.ID, inc.AcknowledgedBy)
	})
}
