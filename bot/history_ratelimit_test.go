package bot_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// A channel with more threads than Slack lets the bot read in a minute
// (conversations.replies is Tier 3) is read back over several attempts:
// each attempt stopped by Slack's 429 waits as long as Slack asked, and the
// next reads only the threads the last did not reach, so the read ends
// with every reply once. A thread that changed since it was read (a reply
// added) is read again.
func TestHistoryOfManyThreadsGoesOnAcrossRateLimits(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := chatNow
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	f := newChatFixture(t, func(c *chatFixtureConfig) {
		c.fakeOpts = append(c.fakeOpts, slackfake.WithClock(clock), slackfake.WithRateLimits())
	})
	ch := f.botChannel(t, "inc-2026-03-01-threads", f.alice.ID, f.bob.ID)
	declared := chatNow.Add(-2 * time.Hour)
	n := 0
	ts := func(sec int) string {
		n++
		return fmt.Sprintf("%d.%06d", declared.Unix()+int64(sec), n)
	}
	const threads = 3 * slackfake.Tier3 / 2
	want := map[string]bool{}
	var lastParent string
	for i := range threads {
		parent, ok := f.srv.AddMessage(slackfake.Message{Channel: ch.ID, TS: ts(10 + i*60), User: f.alice.ID, Text: fmt.Sprintf("thread %d", i)})
		require.True(t, ok)
		reply, ok := f.srv.AddMessage(slackfake.Message{Channel: ch.ID, TS: ts(20 + i*60), ThreadTS: parent.TS, User: f.bob.ID, Text: fmt.Sprintf("reply to %d", i)})
		require.True(t, ok)
		want[parent.TS], want[reply.TS] = true, true
		lastParent = parent.TS
	}

	ctx := context.Background()
	var msgs []incident.ChatMessage
	attempts := 0
	for ; attempts < 6; attempts++ {
		var err error
		msgs, err = f.chat.History(ctx, ch.ID, declared)
		if err == nil {
			break
		}
		var wait interface{ RetryAfter() time.Duration }
		require.True(t, errors.As(err, &wait), "only Slack's rate limit stops the read: %v", err)
		require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err))
		if attempts == 0 {
			// A reply added meanwhile to a thread already read: the
			// newest, read first.
			r, ok := f.srv.AddMessage(slackfake.Message{Channel: ch.ID, TS: ts(threads * 60), ThreadTS: lastParent, User: f.alice.ID, Text: "one more"})
			require.True(t, ok)
			want[r.TS] = true
		}
		advance(wait.RetryAfter())
	}
	require.Less(t, attempts, 6, "the read ends")
	require.Positive(t, attempts, "the read was rate limited at least once")
	got := map[string]int{}
	for _, m := range msgs {
		got[m.TS]++
	}
	for ts := range want {
		require.Equal(t, 1, got[ts], "message %s is read back once", ts)
	}
	require.Len(t, got, len(want))
}
