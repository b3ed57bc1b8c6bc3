package bot

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// TestIsMemberFailureIsWordedForWhoAsked: the channel-membership check runs
// on the command and click path, where nothing retries a failure; Slack
// failing it is said as "nothing was changed" and when to try again, and
// in a job as "it will try again", never as a retry the person would wait
// for in vain.
func TestIsMemberFailureIsWordedForWhoAsked(t *testing.T) {
	t.Parallel()
	srv := slackfake.New()
	t.Cleanup(srv.Close)
	user := srv.AddUser(slackfake.User{Name: "alice"})
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-members", Members: []string{srv.BotUserID(), user.ID}})
	rooms := NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), incident.DefaultPolicy()).Roles().ChannelSetup

	srv.RateLimitNext("conversations.members", 1, 30*time.Second)
	_, err := rooms.IsMember(context.Background(), ch.ID, user.ID)
	require.Equal(t, "Slack is rate limiting the bot, so it could not read the members of the incident channel yet; "+
		"nothing was changed. Try again in 30 seconds.", incident.ErrorMessage(err))

	srv.FailNext("conversations.members", 1, http.StatusInternalServerError)
	_, err = rooms.IsMember(context.Background(), ch.ID, user.ID)
	require.Equal(t, "Slack is not responding (HTTP 500), so the bot could not read the members of the incident channel; "+
		"nothing was changed. Try again in a moment.", incident.ErrorMessage(err))

	srv.FailNext("conversations.members", 1, http.StatusInternalServerError)
	_, err = rooms.IsMember(incident.WithJobRun(context.Background(), 7, 1, 8), ch.ID, user.ID)
	require.Equal(t, "Slack is not responding (HTTP 500), so the bot could not read the members of the incident channel; "+
		"it will try again.", incident.ErrorMessage(err))

	in, err := rooms.IsMember(context.Background(), ch.ID, user.ID)
	require.NoError(t, err)
	require.True(t, in)
}
