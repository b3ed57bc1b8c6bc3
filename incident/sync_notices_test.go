package incident_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// keyedChat posts notices the way the Slack transport does: a retried
// job's notice that is already in the channel is returned, not posted
// again. failNotice makes the notice with that text fail once.
type keyedChat struct {
	*incidenttest.Chat
	mu         sync.Mutex
	failNotice string
	tries      map[string]int
}

func (c *keyedChat) Notify(ctx context.Context, ch string, n incident.Notice) (string, error) {
	text := bot.NoticeText(n)
	c.mu.Lock()
	c.tries[text]++
	fail := text == c.failNotice
	if fail {
		c.failNotice = ""
	}
	c.mu.Unlock()
	if fail {
		return "", incident.Errorf(incident.EUNAVAILABLE, "Slack is not responding (notify)")
	}
	if attempt, _ := incident.JobAttempt(ctx); attempt > 1 {
		if slices.Contains(c.PostsIn(ch), text) {
			return "adopted", nil
		}
	}
	return c.Chat.Notify(ctx, ch, n)
}

// A sync whose second notice fails is retried, and the retry posts the
// rest without repeating what is already in the channel.
func TestSyncRetriesALaterNoticeThatFailed(t *testing.T) {
	t.Parallel()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	store := incidenttest.NewMemStore(clock)
	policy := incident.DefaultPolicy()
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout"}}
	c := &keyedChat{Chat: incidenttest.NewChat(), tries: map[string]int{}}
	c.Word = bot.NoticeText
	q := incidenttest.NewQueue()
	store.SetScheduler(q)
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Policy: policy, Clock: clock,
		Chat: incident.Chat{ChannelSetup: c, Directory: c, PanelPoster: c, NoticePoster: c, ChatHistory: c, ChangePoster: c}})
	svc.RegisterJobs(q)

	ctx := context.Background()
	inc, _, err := svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P2, ServiceKey: "checkout",
		DeclaredBy: "U0DECL", ReplyTo: incident.ReplyTarget{UserID: "U0DECL", ChannelID: "CORIGIN"}})
	require.NoError(t, err)
	require.Empty(t, q.RunAll(t))
	inc, err = store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.NotEmpty(t, inc.ChannelID)

	first := incident.Notice{Kind: incident.NoticeSnoozed, Incident: inc.Key(), Actor: "U0ALICE", Values: map[string]string{"until": "12:30 UTC"}}
	second := incident.Notice{Kind: incident.NoticeSnoozed, Incident: inc.Key(), Actor: "U0BOB", Values: map[string]string{"until": "13:45 UTC"}}
	c.mu.Lock()
	c.failNotice = bot.NoticeText(second)
	c.mu.Unlock()
	require.NoError(t, svc.Notify(ctx, inc, first, second))
	require.Empty(t, q.RunAll(t), "the retry finishes the sync")

	posts := c.PostsIn(inc.ChannelID)
	for _, n := range []incident.Notice{first, second} {
		text := bot.NoticeText(n)
		require.Equal(t, 1, countOf(posts, text), "%q is in the channel once: %q", text, posts)
	}
	require.Equal(t, 2, c.tries[bot.NoticeText(second)], "the failed notice was tried again")
}
