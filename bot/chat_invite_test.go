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
	"github.com/firebreakhq/firebreak/incident"
)

// TestChatInviteSkipsWhomSlackRefuses: responders Slack will not add to the
// channel (a guest, a single-channel guest already in their channel, a
// person of another workspace of the organisation, a deactivated person)
// do not keep the others out, whichever of them Slack names in its error
// or in the "errors" of an ok answer (which slack-go drops); each is
// logged and returned with Slack's reason, as an
// incident.InviteRefusedError, for the war room to say.
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

	want := map[string]string{
		elsewhere.ID: "org_user_not_in_team", guest.ID: "user_is_restricted",
		single.ID: "ura_max_channels", gone.ID: "user_not_found",
	}
	refusals := func(err error) map[string]string {
		t.Helper()
		refused, err := incident.InviteRefusals(err)
		require.NoError(t, err)
		got := map[string]string{}
		for _, r := range refused {
			got[r.User] = r.Code
		}
		return got
	}

	require.Equal(t, map[string]string{elsewhere.ID: "org_user_not_in_team"}, refusals(f.chat.Invite(ctx, ch.ID, []string{elsewhere.ID})))
	require.Equal(t, want, refusals(f.chat.Invite(ctx, ch.ID, []string{elsewhere.ID, guest.ID, single.ID, gone.ID})))
	// Slack invites Alice and Bob and answers ok, naming the others in
	// "errors": they are found refused all the same.
	require.Equal(t, want, refusals(f.chat.Invite(ctx, ch.ID, []string{elsewhere.ID, guest.ID, f.alice.ID, single.ID, gone.ID, f.bob.ID})))

	got, _ := f.srv.Channel(ch.ID)
	require.ElementsMatch(t, []string{f.srv.BotUserID(), f.alice.ID, f.bob.ID}, got.Members)
	for user, reason := range want {
		require.Contains(t, logs.String(), "user="+user+" reason="+reason)
	}
	require.NoError(t, f.chat.Invite(ctx, ch.ID, []string{f.alice.ID, f.bob.ID, f.carol.ID}), "nobody refused")
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
// users is about them, whatever its code: they are refused, not a failure.
func TestChatInviteUnknownPerUserCode(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	f := newChatFixture(t, func(c *chatFixtureConfig) {
		c.client = &http.Client{Transport: cannedInvite{body: `{"ok":false,"error":"user_is_on_leave","errors":[` +
			`{"user":"U0LEAVE1","ok":false,"error":"user_is_on_leave"},{"user":"U0LEAVE2","ok":false,"error":"user_is_on_leave"}]}`}}
		c.opts = append(c.opts, bot.WithChatLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	})
	ch := f.botChannel(t, "inc-leave")
	refused, err := incident.InviteRefusals(f.chat.Invite(context.Background(), ch.ID, []string{"U0LEAVE1", "U0LEAVE2"}))
	require.NoError(t, err)
	require.Equal(t, []incident.InviteRefusal{{User: "U0LEAVE1", Code: "user_is_on_leave"}, {User: "U0LEAVE2", Code: "user_is_on_leave"}}, refused)
	require.Contains(t, logs.String(), "user=U0LEAVE2 reason=user_is_on_leave")
}
