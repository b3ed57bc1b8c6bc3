package pagerduty_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// An incident acknowledged in PagerDuty is not escalated: it has no level
// to escalate to (ECONFLICT, with the page as PagerDuty has it), and
// EscalateTo leaves it alone and says who acknowledged it and when, by
// PagerDuty's clock.
func TestEscalateLeavesAnAcknowledgedIncidentAlone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	page, err := b.client.Page(t.Context(), b.request(b.rest))
	require.NoError(t, err)
	b.clock.Advance(3 * time.Minute)
	ackedAt, err := b.client.Acknowledge(t.Context(), *page, "bob@example.com")
	require.NoError(t, err)
	b.clock.Advance(time.Hour)
	puts := len(callsTo(b.fake, http.MethodPut, "/incidents"))

	level, err := b.client.NextEscalationLevel(t.Context(), *page)
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "%v", err)
	require.Zero(t, level, "no level to escalate an acknowledged incident to")
	var answered interface{ Answered() *incident.Page }
	require.ErrorAs(t, err, &answered)
	found := answered.Answered()
	require.Equal(t, "acknowledged", found.Status)
	require.Equal(t, "Bob Primary", found.AcknowledgedBy)
	require.NotNil(t, found.AcknowledgedAt)
	require.True(t, found.AcknowledgedAt.Equal(ackedAt))
	up, escalated, err := b.client.EscalateTo(t.Context(), *page, 2)
	require.NoError(t, err)
	require.False(t, escalated)
	require.Equal(t, "acknowledged", up.Status)
	require.Equal(t, "Bob Primary", up.AcknowledgedBy)
	require.NotNil(t, up.AcknowledgedAt)
	require.True(t, up.AcknowledgedAt.Equal(ackedAt))
	require.Len(t, callsTo(b.fake, http.MethodPut, "/incidents"), puts, "nothing asked of PagerDuty")
	inc, ok := b.fake.Incident(page.ExternalID)
	require.True(t, ok)
	require.Equal(t, "acknowledged", inc.Status)
}
