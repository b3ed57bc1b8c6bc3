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

// A retried job says the same notice a few seconds later, so its durations
// ("no update for 15m02s", then "15m07s") have moved on: the update
// reminder, the direct message to the IC and the escalation whose first
// attempt landed although Slack answered 500 are each found by the retry,
// not posted again.
func TestRetriedNoticeWhoseDurationMovedOnPostsOnce(t *testing.T) {
	t.Parallel()
	f := newChatFixture(t)
	ch := f.botChannel(t, "inc-20260301-nag", f.alice.ID).ID
	inc := &incident.Incident{ID: 7, Number: 7, Title: "Checkout down", Severity: incident.P1, Status: incident.StatusInvestigating,
		ChannelID: ch, Commander: f.alice.ID}
	nag := func(silent string) incident.Notice {
		return incident.Notice{Kind: incident.NoticeNag, Incident: "INC-7", Actor: "bot", User: f.alice.ID,
			Values: map[string]string{"silent": silent, "level": "1"}}
	}
	escalation := func(ago string) incident.Notice {
		return incident.Notice{Kind: incident.NoticeAckMissed, Incident: "INC-7", Actor: "bot", User: f.alice.ID,
			Values: map[string]string{"target": "5 minutes", "severity": "P1", "ago": ago}}
	}
	f.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		if c.Method == "chat.postMessage" {
			return slackfake.TookEffectThen(http.StatusInternalServerError)
		}
		return nil
	})
	first := incident.WithJobRun(context.Background(), 43, 1, 5)
	_, err := f.chat.PostNag(first, ch, inc, nag("15m02s"))
	require.Error(t, err, "Slack answered 500")
	_, err = f.chat.Notify(first, ch, escalation("5m02s"))
	require.Error(t, err, "Slack answered 500")
	f.srv.ClearFaults()

	retry := incident.WithJobRun(context.Background(), 43, 2, 5)
	_, err = f.chat.PostNag(retry, ch, inc, nag("15m07s"))
	require.NoError(t, err)
	_, err = f.chat.Notify(retry, ch, escalation("5m07s"))
	require.NoError(t, err)
	var texts []string
	for _, m := range f.srv.Messages(ch) {
		texts = append(texts, m.Text)
	}
	require.Len(t, texts, 2, "one reminder and one escalation: %q", texts)
}
