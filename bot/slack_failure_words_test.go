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

// TestInteractiveSlackFailureDoesNotPromiseARetry: a command answered at
// once (no job behind it) that fails on a Slack lookup was told "it will
// try again", yet nothing retries it: the person waited for an outcome
// that never came. They are told that nothing was changed and when to try
// again; seen with a 500 and with a 429.
func TestInteractiveSlackFailureDoesNotPromiseARetry(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		fault func(tr *transport)
		want  string
	}{
		{"500", func(tr *transport) { tr.srv.FailNext("usergroups.users.list", 10, http.StatusInternalServerError) },
			"Slack is not responding (HTTP 500), so the bot could not list the members of user group S0COMMANDERS; nothing was changed. Try again in a moment."},
		{"429", func(tr *transport) { tr.srv.RateLimitNext("usergroups.users.list", 10, 30*time.Second) },
			"Slack is rate limiting the bot, so it could not list the members of user group S0COMMANDERS yet; nothing was changed. Try again in 30 seconds."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := newTransportWith(t, nil, func(p *incident.Policy) { p.CommanderGroup = "S0COMMANDERS" })
			// Past every lookup cache: the policy's groups are read again.
			tr.clock.Advance(20 * time.Minute)
			tt.fault(tr)
			body := replyText(t, tr.command(t, tr.other.ID, tr.inc.ChannelID, "status mitigated"))
			require.NotContains(t, body, "will try again", "an interactive command is not retried; the reply must not say it will be")
			require.Contains(t, body, tt.want)
		})
	}
}

// TestSlackFailureInAJobSaysItIsRetried: the same failure met by a job,
// which the engine retries, says so.
func TestSlackFailureInAJobSaysItIsRetried(t *testing.T) {
	t.Parallel()
	srv := slackfake.New()
	t.Cleanup(srv.Close)
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-words", Members: []string{srv.BotUserID()}})
	chat := NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), incident.DefaultPolicy())

	srv.FailNext("chat.postMessage", 1, http.StatusInternalServerError)
	_, err := chat.Roles().NoticePoster.Post(incident.WithJobRun(context.Background(), 7, 1, 8), ch.ID, "hello")
	require.Equal(t, "Slack is not responding (HTTP 500), so the bot could not post a message; it will try again.", incident.ErrorMessage(err))

	srv.RateLimitNext("chat.postMessage", 1, 90*time.Second)
	_, err = chat.Roles().NoticePoster.Post(incident.WithJobRun(context.Background(), 8, 1, 8), ch.ID, "hello again")
	require.Equal(t, "Slack is rate limiting the bot, so it could not post a message yet; it will try again in 2 minutes.", incident.ErrorMessage(err))
}

// TestMessageLimitExceededIsSaidPlainly: a free Slack workspace that has
// sent too many messages answers chat.postMessage with
// message_limit_exceeded; the bot says what that means rather than
// "Slack said message_limit_exceeded".
func TestMessageLimitExceededIsSaidPlainly(t *testing.T) {
	t.Parallel()
	srv := slackfake.New()
	t.Cleanup(srv.Close)
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-limit", Members: []string{srv.BotUserID()}})
	chat := NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), incident.DefaultPolicy())

	srv.ErrorNext("chat.postMessage", 1, "message_limit_exceeded")
	_, err := chat.Roles().NoticePoster.Post(incident.WithJobRun(context.Background(), 7, 1, 8), ch.ID, "hello")
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err), "the limit passes: a job tries again")
	require.Contains(t, incident.ErrorMessage(err), "this free Slack workspace has sent too many messages in a short time")
	require.Empty(t, srv.Messages(ch.ID))
}

// A war room's setup steps are jobs: a step Slack fails says the bot will
// try again, as a post does.
func TestSetupStepFailureInAJobSaysItIsRetried(t *testing.T) {
	t.Parallel()
	srv := slackfake.New()
	t.Cleanup(srv.Close)
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-setup-words", Members: []string{srv.BotUserID()}})
	chat := NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), incident.DefaultPolicy())

	srv.RateLimitNext("bookmarks.list", 1, 90*time.Second)
	err := chat.AddBookmark(incident.WithJobRun(context.Background(), 9, 1, 8), ch.ID, "Runbook", "https://runbooks.example.com/checkout")
	require.Contains(t, incident.ErrorMessage(err), "it will try again in 2 minutes.")
}
