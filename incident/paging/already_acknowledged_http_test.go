package paging_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestAcknowledgeClickOfAPageAcknowledgedInPagerDutyAlready: on-call
// acknowledged the page from the PagerDuty app, and PagerDuty's report of
// it is not in yet, when Kim clicks Acknowledge in Slack. PagerDuty
// refuses Kim's acknowledgement as 1002, "Incident Already Acknowledged".
// The job ends there, not retried, Kim is told who acknowledged it, and
// the channel is not told that Kim did; PagerDuty's report then says Bob.
func TestAcknowledgeClickOfAPageAcknowledgedInPagerDutyAlready(t *testing.T) {
	t.Parallel()
	b, fake, url, pdInc, inc, t0 := outOfOrderSetup(t)
	ctx := context.Background()

	advance(t, b, 2*time.Minute)
	onPhone(t, fake, pdInc, "bob@example.com", "acknowledged")
	calls := len(fake.Calls())
	require.NoError(t, b.pg.AcknowledgePage(ctx, pageKey, "U0KIM", incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: "U0KIM"}))
	require.Empty(t, b.queue.RunAll(t), "the job does not fail")

	puts := 0
	for _, c := range fake.Calls()[calls:] {
		if c.Method == http.MethodPut {
			puts++
		}
	}
	require.Equal(t, 1, puts, "asked once, not retried")
	got, ok := fake.Incident(pdInc)
	require.True(t, ok)
	require.Equal(t, "PUBOB", got.AcknowledgedBy, "still Bob's")
	b.chat.Mu.Lock()
	replies := strings.Join(b.chat.Replies, "\n")
	b.chat.Mu.Unlock()
	require.Contains(t, replies, "U0KIM: ")
	require.Contains(t, replies, "acknowledged already")
	require.Contains(t, replies, "Bob Roe")
	lines, _ := countAcks(t, b, inc)
	require.Empty(t, lines, "nobody said Kim acknowledged it")

	deliver(t, fake, url, "incident.acknowledged", pdInc, "Bob Roe", "01BOBACK", t0.Add(2*time.Minute))
	require.Empty(t, b.queue.RunAll(t))
	lines, events := countAcks(t, b, inc)
	require.Len(t, lines, 1, "%q", lines)
	require.Contains(t, lines[0], "Acknowledged by Bob Roe")
	require.Equal(t, 1, events)
	require.Equal(t, "acknowledged", pageStatus(t, b))
}
