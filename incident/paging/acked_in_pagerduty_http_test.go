package paging_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
)

// On-call acknowledges in the PagerDuty app and the webhook does not reach
// the bot (none configured, or a delivery PagerDuty retries later): at the
// response target the bot reads PagerDuty's incident, finds it
// acknowledged, and escalates nothing. It records the acknowledgement as
// the webhook would have, said once in the channel, and the webhook's late
// delivery of it changes nothing.
func TestPageAcknowledgedInPagerDutyIsNotEscalated(t *testing.T) {
	t.Parallel()
	b := httpSetup(t, 2)
	ctx := context.Background()
	inc := b.declareP2(t)
	pages, err := b.store.ListPages(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, pages, 1)
	b.clock.Advance(10 * time.Minute)
	phone := pagerduty.New(pagerduty.Config{APIURL: b.pd.URL(), EventsURL: b.pd.EventsURL(), Token: b.pd.Token(), FromEmail: "bot@example.com"})
	ackedAt, err := phone.Acknowledge(ctx, pages[0], "bob@example.com")
	require.NoError(t, err)

	end := b.clock.Now().Add(2 * time.Hour)
	for b.clock.Now().Before(end) {
		b.clock.Advance(30 * time.Second)
		b.queue.RunDue(t, b.clock.Now())
	}
	pdInc := b.pd.Incidents()[0]
	require.Equal(t, "acknowledged", pdInc.Status, "not escalated")
	require.NotContains(t, pdInc.Notified, "PUCAROL", "the backup was not woken")
	require.Empty(t, b.said(inc.ChannelID, "Nobody acknowledged the page"))
	require.Len(t, b.said(inc.ChannelID, "Acknowledged by Bob Roe in PagerDuty, 10m"), 1)
	require.Len(t, b.pd.Incidents(), 1, "not paged again")

	page, err := b.store.FindPage(ctx, "pagerduty", pages[0].DedupKey)
	require.NoError(t, err)
	require.Equal(t, "acknowledged", page.Status)
	require.NotNil(t, page.AcknowledgedAt)
	require.True(t, page.AcknowledgedAt.Equal(ackedAt), "PagerDuty's time of it: %v, %v", page.AcknowledgedAt, ackedAt)
	got, err := b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.NotNil(t, got.AcknowledgedAt, "MTTA counts it")
	require.True(t, got.AcknowledgedAt.Equal(ackedAt))

	// PagerDuty's delivery of the acknowledgement, late.
	require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV-ACK", Kind: incident.PageAcknowledged,
		ExternalID: page.ExternalID, DedupKey: page.DedupKey, Agent: "Bob Roe", AgentEmail: "bob@example.com", At: ackedAt}))
	b.queue.RunDue(t, b.clock.Now())
	require.Len(t, b.said(inc.ChannelID, "Acknowledged by"), 1, "said once")
}
