package paging_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// TestAcknowledgementDeliveredAfterItsTimeoutStaysTimedOut: on-call
// acknowledges from the phone, the acknowledgement times out and
// PagerDuty puts the incident back to triggered; the unacknowledgement is
// delivered first. The acknowledgement, delivered after it, is still the
// page's first (said once, counted for the time to acknowledge), but the
// page stays triggered, as PagerDuty has it; a new acknowledgement after
// that acknowledges it again.
func TestAcknowledgementDeliveredAfterItsTimeoutStaysTimedOut(t *testing.T) {
	t.Parallel()
	b, fake, url, pdInc, inc, t0 := outOfOrderSetup(t)
	ctx := context.Background()

	advance(t, b, 5*time.Minute)
	deliver(t, fake, url, "incident.unacknowledged", pdInc, "", "01UNACKED", t0.Add(4*time.Minute))
	deliver(t, fake, url, "incident.acknowledged", pdInc, "Bob Roe", "01ACKED", t0.Add(2*time.Minute))
	deliver(t, fake, url, "incident.acknowledged", pdInc, "Bob Roe", "01ACKED", t0.Add(2*time.Minute)) // a redelivery
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))

	require.Equal(t, "triggered", pageStatus(t, b), "the acknowledgement timed out")
	lines, events := countAcks(t, b, inc)
	require.Len(t, lines, 1, "%q", lines)
	require.Equal(t, 1, events)
	got, err := b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.NotNil(t, got.AcknowledgedAt)
	require.Equal(t, t0.Add(2*time.Minute), got.AcknowledgedAt.UTC())

	// A second acknowledgement made before the timeout too (Alice, a
	// minute after Bob), delivered last, is only recorded.
	deliver(t, fake, url, "incident.acknowledged", pdInc, "Alice Doe", "01ACKED2", t0.Add(3*time.Minute))
	require.Equal(t, "triggered", pageStatus(t, b))
	lines, _ = countAcks(t, b, inc)
	require.Len(t, lines, 1, "%q", lines)
	require.True(t, hasSource(t, b, inc, "pd:01ACKED2"), "recorded on the timeline")

	// On-call acknowledges again after the timeout.
	advance(t, b, 2*time.Minute)
	deliver(t, fake, url, "incident.acknowledged", pdInc, "Bob Roe", "01ACKED3", t0.Add(6*time.Minute))
	require.Equal(t, "acknowledged", pageStatus(t, b))
}

// TestEscalationDeliveredAfterALaterAcknowledgementChangesNothing:
// PagerDuty escalates a page nobody acknowledged, and the next level
// acknowledges it; the acknowledgement is delivered first. The page stays
// acknowledged: the escalation, older, is recorded without a word and
// invites nobody.
func TestEscalationDeliveredAfterALaterAcknowledgementChangesNothing(t *testing.T) {
	t.Parallel()
	b, fake, url, pdInc, inc, t0 := outOfOrderSetup(t)

	advance(t, b, 6*time.Minute)
	deliver(t, fake, url, "incident.acknowledged", pdInc, "Carol Poe", "01ACKED", t0.Add(5*time.Minute))
	deliver(t, fake, url, "incident.escalated", pdInc, "", "01ESCALATED", t0.Add(3*time.Minute), pdfake.WithAssignees("Carol Poe"))
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))

	require.Equal(t, "acknowledged", pageStatus(t, b))
	posts := b.chat.PostsIn(inc.ChannelID)
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "Acknowledged by"), 1, "%q", posts)
	require.Empty(t, postsContaining(b.chat, inc.ChannelID, "escalated"), "%q", posts)
	require.True(t, hasSource(t, b, inc, "pd:01ESCALATED"), "recorded on the timeline")
}
