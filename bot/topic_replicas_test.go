package bot

import (
	"context"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// Each topic change posts a line in the channel. A topic another replica
// (or this process before a restart) already set is not set again: the
// channel's topic is read first. A real change is set once, and this
// process then answers from memory.
func TestSameTopicIsNotSetAgainByAnotherReplica(t *testing.T) {
	srv := slackfake.New()
	t.Cleanup(srv.Close)
	newChat := func() *Chat {
		return NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), incident.DefaultPolicy())
	}
	a, b := newChat(), newChat()
	ctx := context.Background()
	chID, err := a.CreateChannel(ctx, "inc-topic-replicas", false)
	require.NoError(t, err)
	inc := &incident.Incident{ID: 7, Number: 42, Title: "Checkout is down", Severity: incident.P1,
		Status: incident.StatusInvestigating, Commander: "U0ALICE", ChannelID: chID, DeclaredAt: time.Now()}
	require.NoError(t, a.SetTopic(incident.WithJobRun(ctx, 1, 1, 8), chID, incident.TopicNotice(inc)))
	require.NoError(t, b.SetTopic(incident.WithJobRun(ctx, 2, 1, 8), chID, incident.TopicNotice(inc)))
	require.Len(t, srv.CallsTo("conversations.setTopic"), 1, "the other replica finds the topic set")

	inc.Status = incident.StatusMitigated
	require.NoError(t, b.SetTopic(incident.WithJobRun(ctx, 3, 1, 8), chID, incident.TopicNotice(inc)))
	require.NoError(t, a.SetTopic(incident.WithJobRun(ctx, 4, 1, 8), chID, incident.TopicNotice(inc)))
	require.NoError(t, a.SetTopic(incident.WithJobRun(ctx, 5, 1, 8), chID, incident.TopicNotice(inc)))
	require.Len(t, srv.CallsTo("conversations.setTopic"), 2, "a change is set once")
	require.Len(t, srv.CallsTo("conversations.info"), 4, "read before each set this process did not know of")
}
