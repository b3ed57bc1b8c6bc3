package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// TestChatPeople: names and e-mail addresses come from users.info, and an
// unknown user is ENOTFOUND.
func TestChatPeople(t *testing.T) {
	f := newChatFixture(t)
	ctx := context.Background()
	tests := []struct {
		name, user, email string
		code              string
	}{
		{name: "alice", user: f.alice.ID, email: "alice@example.com"},
		{name: "mixed case address", user: f.carol.ID, email: "Carol@Example.com"},
		{name: "nobody", user: "U0NOBODY", code: incident.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			email, err := f.chat.UserEmail(ctx, tt.user)
			if tt.code != "" {
				require.Equal(t, tt.code, incident.ErrorCode(err), "%v", err)
				return
			}
			require.NoError(t, err)
			require.True(t, strings.EqualFold(tt.email, email), email)
			name, err := f.chat.UserName(ctx, tt.user)
			require.NoError(t, err)
			require.NotEmpty(t, name)
		})
	}
}

// TestChatChannelMessages: buttons, change lists and the history the
// capture reads, on one channel.
func TestChatChannelMessages(t *testing.T) {
	f := newChatFixture(t)
	ctx := context.Background()
	ch, err := f.chat.CreateChannel(ctx, "inc-2026-03-01-checkout", false)
	require.NoError(t, err)

	ts, err := f.chat.PostButtons(ctx, ch, "Page the on-call?", []incident.Button{
		{Action: incident.ActionAckPage, Text: "Acknowledge", Value: "7", Style: "primary"},
		{Action: "page_retry", Text: "Retry", Value: "7", Style: "danger"},
	})
	require.NoError(t, err)
	require.NotEmpty(t, ts)

	inc := &incident.Incident{ID: 1, Number: 1, Title: "checkout is down", Severity: incident.P1, ChannelID: ch,
		DeclaredAt: chatNow.Add(-10 * time.Minute)}
	list := incident.ChangeList{From: chatNow.Add(-2 * time.Hour), To: chatNow, Start: chatNow.Add(-10 * time.Minute),
		Items: []incident.ChangeItem{{Change: incident.ChangeEvent{Source: incident.ProviderGitHub, Kind: incident.ChangeDeploy,
			Summary: "Deploy acme/checkout@bad0c0f to production", Environment: "production", OccurredAt: chatNow.Add(-15 * time.Minute)},
			Highlight: true, Action: "Roll back", Value: "github:7"}},
		Failures: []incident.SourceFailure{{Source: "LaunchDarkly", Message: "LaunchDarkly is not responding."}}}
	lts, err := f.chat.PostChanges(ctx, ch, inc, list)
	require.NoError(t, err)
	require.NotEmpty(t, lts)

	var found bool
	for _, m := range f.srv.Messages(ch) {
		if m.TS == lts {
			found = true
			require.Contains(t, string(m.Blocks), "bad0c0f")
			require.Contains(t, string(m.Blocks), "Could not read LaunchDarkly")
		}
		if m.TS == ts {
			require.Contains(t, string(m.Blocks), incident.ActionAckPage)
		}
	}
	require.True(t, found, "the change list was posted")

	// People talk in the channel; History returns what they said, not the
	// bot's own posts.
	_, ok := f.srv.AddMessage(slackfake.Message{Channel: ch, User: f.alice.ID, Text: "DB pool is at 100%"})
	require.True(t, ok)
	msgs, err := f.chat.History(ctx, ch, chatNow.Add(-time.Hour))
	require.NoError(t, err)
	var texts []string
	for _, m := range msgs {
		texts = append(texts, m.Text)
		require.NotEqual(t, ts, m.TS, "the bot's own post is not history")
	}
	require.Contains(t, texts, "DB pool is at 100%")

	// The nag carries its buttons; a notice is worded by the transport.
	nts, err := f.chat.PostNag(ctx, ch, inc, incident.NagNotice(inc, incident.DefaultPolicy(), 1, inc.DeclaredAt.Add(10*time.Minute)))
	require.NoError(t, err)
	_, err = f.chat.Notify(ctx, ch, incident.Notice{Kind: incident.NoticeSnoozed, Incident: inc.Key(), Actor: f.alice.ID,
		Values: map[string]string{"until": "12:30 UTC"}})
	require.NoError(t, err)
	var nag, notice bool
	for _, m := range f.srv.Messages(ch) {
		if m.TS == nts {
			nag = strings.Contains(string(m.Blocks), bot.ActionSnooze) && strings.Contains(string(m.Blocks), bot.ActionStillInvestigating)
		}
		notice = notice || strings.Contains(m.Text, "12:30 UTC")
	}
	require.True(t, nag, "the nag offers snooze and still investigating")
	require.True(t, notice, "the snooze notice was posted")

	member, err := f.chat.IsMember(ctx, ch, f.bob.ID)
	require.NoError(t, err)
	require.False(t, member)
}
