package bot_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// A notice whose post took effect although Slack answered 500 is not
// posted again by the job's retry.
func TestNotifyRetryAfterAmbiguousFailurePostsOnce(t *testing.T) {
	t.Parallel()
	f := newChatFixture(t)
	ch := f.botChannel(t, "inc-20260301-notice", f.alice.ID).ID
	n := incident.Notice{Kind: incident.NoticeSnoozed, Incident: "INC-7", Actor: f.alice.ID,
		Values: map[string]string{"until": "12:30 UTC"}}

	f.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		if c.Method == "chat.postMessage" {
			return slackfake.TookEffectThen(http.StatusInternalServerError)
		}
		return nil
	})
	first := incident.WithJobRun(context.Background(), 42, 1, 5)
	_, err := f.chat.Notify(first, ch, n)
	require.Error(t, err, "Slack answered 500")
	f.srv.ClearFaults()

	retry := incident.WithJobRun(context.Background(), 42, 2, 5)
	ts, err := f.chat.Notify(retry, ch, n)
	require.NoError(t, err)
	require.NotEmpty(t, ts)

	count := 0
	for _, m := range f.srv.Messages(ch) {
		if strings.Contains(m.Text, "12:30 UTC") {
			count++
			require.Equal(t, ts, m.TS, "the retry returns the message the first attempt posted")
		}
	}
	require.Equal(t, 1, count, "the notice is in the channel once")
}
