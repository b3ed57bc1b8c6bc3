package incident_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// refusingDMs is the test chat with Slack refusing every direct message,
// as it does to a deactivated IC.
type refusingDMs struct {
	*incidenttest.Chat
	told int
}

func (c *refusingDMs) Tell(_ context.Context, _ incident.ReplyTarget, n incident.Notice) error {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	if n.Kind == incident.NoticeNagDirect {
		c.told++
	}
	return incident.Errorf(incident.ENOTFOUND, "Slack refused the message: the user is deactivated.")
}

func setupRefusingDMs(t *testing.T, mutate ...func(*incident.Policy)) (bundle, *refusingDMs) {
	t.Helper()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	store := incidenttest.NewMemStore(clock)
	policy := incident.DefaultPolicy()
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout"}}
	for _, m := range mutate {
		m(&policy)
	}
	c := &refusingDMs{Chat: incidenttest.NewChat()}
	c.Word = bot.NoticeText
	q := incidenttest.NewQueue()
	store.SetScheduler(q)
	roles := incident.Chat{ChannelSetup: c, Directory: c, PanelPoster: c, NoticePoster: c, ChatHistory: c, ChangePoster: c}
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: roles, Policy: policy, Clock: clock})
	svc.RegisterJobs(q)
	return bundle{svc: svc, store: store, chat: c.Chat, queue: q, clock: clock}, c
}

// TestNagSaysWhenTheICCouldNotBeMessaged: Slack refuses the direct
// message of the second reminder; the channel is told the IC could not be
// messaged and why, not that they were.
func TestNagSaysWhenTheICCouldNotBeMessaged(t *testing.T) {
	t.Parallel()
	b, c := setupRefusingDMs(t)
	readyAt(t, b, incident.P1)
	advance(t, b, 20*time.Minute+30*time.Second)
	require.Len(t, b.chat.Nags, 2)
	require.Equal(t, 1, c.told, "the DM was tried once")
	require.NotContains(t, b.chat.Nags[1], "has been messaged directly")
	require.Contains(t, b.chat.Nags[1], "the IC could not be messaged directly: Slack refused the message: the user is deactivated.")

	advance(t, b, 10*time.Minute)
	require.Len(t, b.chat.Nags, 3)
	require.NotContains(t, b.chat.Nags[2], "has been messaged directly")
	require.Contains(t, b.chat.Nags[2], "The IC could not be messaged directly: Slack refused the message: the user is deactivated.")
}
