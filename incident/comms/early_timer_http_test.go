package comms_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
	"github.com/firebreakhq/firebreak/incident/storetest"
)

// TestTimersStartedByAnEngineClockAheadStillRun: the job engine starts a
// timer when the database's clock says it is due; the replica that runs
// it may read a clock a few seconds behind, so to it the timer fires
// early. The quiet-spell proposal and the customer e-mail proposal (both
// due 30 minutes after a P1 posted on the status page at once) wait out
// the difference and are still made, once each, as is the next quiet
// spell's.
func TestTimersStartedByAnEngineClockAheadStillRun(t *testing.T) {
	t.Parallel()
	const skew = 3 * time.Second // more than the timers' leeway
	storetest.ForEach(t, func(t *testing.T, kind storetest.Kind) {
		b := setupHTTP(t, kind, publicPages[0].open)
		ctx := context.Background()
		inc := b.declare(t, incident.P1)
		_, err := b.pub.Publish(ctx, inc.ID, comms.PublishInput{Kind: incident.PostAcknowledge, Actor: b.ic.ID})
		require.NoError(t, err)
		b.run(t)
		require.Equal(t, 1, b.said(inc, "Posted on the status page"))

		b.advance(t, 30*time.Minute-skew-time.Second, 30*time.Second, skew)
		require.Zero(t, b.said(inc, "nothing was posted on the status page"))
		require.Zero(t, b.said(inc, "Customer e-mail"))
		b.advance(t, time.Minute, time.Second, skew)
		require.Equal(t, 1, b.said(inc, "nothing was posted on the status page for 30 minutes"), "the quiet spell is said")
		require.Equal(t, 1, b.said(inc, "Customer e-mail*: INC-1 has been open for 30 minutes"), "the customer e-mail is proposed")

		b.advance(t, 31*time.Minute, time.Second, skew)
		require.Equal(t, 2, b.said(inc, "nothing was posted on the status page"), "and again after another quiet spell")
		require.Equal(t, 1, b.said(inc, "Customer e-mail"), "the e-mail is proposed once")
	})
}
