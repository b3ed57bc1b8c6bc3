package bot

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// TestPanelRetryFindsTheLandedPanelPastTwoHundredMessages: a control panel
// that landed although chat.postMessage answered 500 was looked for, on
// the retry, among the 200 newest messages only. In Slack every responder
// the setup invites (concurrently with the panel step) leaves a
// channel_join message, and the topic leaves its own: a war room for a
// large on-call group pushed the first panel past the scan, and the retry
// posted (and pinned) a second one. The retry reads the channel from the
// declare on, and adopts the panel; the announcement likewise.
func TestPanelRetryFindsTheLandedPanelPastTwoHundredMessages(t *testing.T) {
	t.Parallel()
	srv := slackfake.New()
	t.Cleanup(srv.Close)
	broadcast := srv.AddChannel(slackfake.Channel{Name: "incidents", Members: []string{srv.BotUserID()}})
	chat := NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), incident.DefaultPolicy())
	ctx := context.Background()
	chID, err := chat.CreateChannel(ctx, "inc-review-panel", false)
	require.NoError(t, err)
	inc := &incident.Incident{ID: 7, Number: 42, Title: "Checkout is down", Severity: incident.P1,
		Status: incident.StatusInvestigating, Commander: "U0ALICE", ChannelID: chID, DeclaredAt: time.Now().Add(-time.Minute)}

	// Attempt 1: the panel and the announcement land, Slack answers 500.
	srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		if c.Method == "chat.postMessage" {
			return slackfake.TookEffectThen(http.StatusInternalServerError)
		}
		return nil
	})
	_, err = chat.PostPanel(incident.WithJobRun(ctx, 99, 1, 8), inc)
	require.Error(t, err)
	_, _, err = chat.Announce(incident.WithJobRun(ctx, 99, 1, 8), broadcast.ID, inc)
	require.Error(t, err)
	srv.OnCall(nil)

	// The setup invites 250 responders and sets the topic; people talk
	// in the broadcast channel.
	var ids []string
	for i := range 250 {
		ids = append(ids, srv.AddUser(slackfake.User{Name: "responder" + strconv.Itoa(i)}).ID)
	}
	require.NoError(t, chat.Invite(ctx, chID, ids))
	require.NoError(t, chat.SetTopic(ctx, chID, incident.TopicNotice(inc)))
	for i := range 250 {
		srv.AddMessage(slackfake.Message{Channel: broadcast.ID, User: ids[i], Text: "on it " + strconv.Itoa(i)})
	}
	require.Greater(t, len(srv.Messages(chID)), 250, "every invited responder left a channel_join")

	// Attempt 2 looks for the panel and the announcement before posting
	// them again.
	_, err = chat.PostPanel(incident.WithJobRun(ctx, 99, 2, 8), inc)
	require.NoError(t, err)
	_, _, err = chat.Announce(incident.WithJobRun(ctx, 99, 2, 8), broadcast.ID, inc)
	require.NoError(t, err)
	count := func(channel, key string) int {
		n := 0
		for _, m := range srv.Messages(channel) {
			if m.User == srv.BotUserID() && strings.Contains(string(m.Metadata), key) {
				n++
			}
		}
		return n
	}
	require.Equal(t, 1, count(chID, "panel:7"), "the retry adopted the landed panel instead of posting a second")
	require.Equal(t, 1, count(broadcast.ID, "announce:7"), "the retry adopted the landed announcement")
	for _, c := range srv.CallsTo("conversations.history") {
		require.NotEmpty(t, c.Args.Get("oldest"), "the search starts at the declare")
	}
}
