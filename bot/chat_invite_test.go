package bot_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// TestChatInviteSkipsWhomSlackRefuses: responders Slack will not add to the
// channel (a guest, a single-channel guest already in their channel, a
// person of another workspace of the organisation, a deactivated person)
// neither fail the invite step nor keep the others out, whichever of them
// Slack names in its error; each is logged with Slack's reason.
func TestChatInviteSkipsWhomSlackRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var logs bytes.Buffer
	f := newChatFixture(t, func(c *chatFixtureConfig) {
		c.opts = append(c.opts, bot.WithChatLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	})
	guest := f.srv.AddUser(slackfake.User{Name: "contractor", Guest: true})
	single := f.srv.AddUser(slackfake.User{Name: "auditor", SingleChannelGuest: true})
	f.srv.AddChannel(slackfake.Channel{Name: "audit", Members: []string{single.ID}})
	elsewhere := f.srv.AddUser(slackfake.User{Name: "sister", TeamID: "T0OTHER01"})
	gone := f.srv.AddUser(slackfake.User{Name: "gone", Deleted: true})
	ch := f.botChannel(t, "inc-refused")

	require.NoError(t, f.chat.Invite(ctx, ch.ID, []string{elsewhere.ID}))
	require.NoError(t, f.chat.Invite(ctx, ch.ID, []string{elsewhere.ID, guest.ID, single.ID, gone.ID}))
	require.NoError(t, f.chat.Invite(ctx, ch.ID, []string{elsewhere.ID, guest.ID, f.alice.ID, single.ID, gone.ID, f.bob.ID}))

	got, _ := f.srv.Channel(ch.ID)
	require.ElementsMatch(t, []string{f.srv.BotUserID(), f.alice.ID, f.bob.ID}, got.Members)
	for user, reason := range map[string]string{
		elsewhere.ID: "org_user_not_in_team", guest.ID: "user_is_restricted",
		single.ID: "ura_max_channels", gone.ID: "user_not_found",
	} {
		require.Contains(t, logs.String(), "user="+user+" reason="+reason)
	}
}

// cannedInvite answers conversations.invite with body, as a Slack whose
// per-user refusal carries a code the bot does not know would.
type cannedInvite struct{ body string }

func (c cannedInvite) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/conversations.invite") {
		return http.DefaultTransport.RoundTrip(r)
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(c.body)), Request: r}, nil
}

// TestChatInviteUnknownPerUserCode: an error whose "errors" list names the
// users is about them, whatever its code, so the step goes on.
func TestChatInviteUnknownPerUserCode(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	f := newChatFixture(t, func(c *chatFixtureConfig) {
		c.client = &http.Client{Transport: cannedInvite{body: `{"ok":false,"error":"user_is_on_leave","errors":[` +
			`{"user":"U0LEAVE1","ok":false,"error":"user_is_on_leave"},{"user":"U0LEAVE2","ok":false,"error":"user_is_on_leave"}]}`}}
		c.opts = append(c.opts, bot.WithChatLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	})
	ch := f.botChannel(t, "inc-leave")
	require.NoError(t, f.chat.Invite(context.Background(), ch.ID, []string{"U0LEAVE1", "U0LEAVE2"}))
	require.Contains(t, logs.String(), "user=U0LEAVE2 reason=user_is_on_leave")
}
