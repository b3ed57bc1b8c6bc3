package bot_test

import (
	"context"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestChatPostNamedChannelReplaced: a channel the policy names ("#alerts")
// is looked up once and its id kept. When that channel is archived and
// another takes its name, Slack answers is_archived for the kept id; the
// Chat forgets it and posts in the channel now called #alerts, in the same
// call, instead of failing every post to #alerts until it restarts.
func TestChatPostNamedChannelReplaced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, post := range []struct {
		name string
		do   func(f *chatFixture) error
	}{
		{"post", func(f *chatFixture) error { _, err := f.chat.Post(ctx, "#alerts", "disk full on db-1"); return err }},
		{"buttons", func(f *chatFixture) error {
			_, err := f.chat.PostButtons(ctx, "#alerts", "disk full on db-1", []incident.Button{{Action: "a", Text: "Ack", Value: "1"}})
			return err
		}},
		{"notify", func(f *chatFixture) error {
			_, err := f.chat.Notify(ctx, "#alerts", incident.Notice{Kind: incident.NoticeMessage, Values: map[string]string{"message": "disk full on db-1"}})
			return err
		}},
	} {
		t.Run(post.name, func(t *testing.T) {
			t.Parallel()
			f := newChatFixture(t)
			old := f.botChannel(t, "alerts")
			require.NoError(t, post.do(f))
			require.Len(t, f.srv.Messages(old.ID), 1)

			api := slack.New(f.srv.BotToken(), slack.OptionAPIURL(f.srv.URL()))
			require.NoError(t, api.ArchiveConversation(old.ID))
			fresh := f.botChannel(t, "alerts")

			require.NoError(t, post.do(f), "posted in the channel now named #alerts")
			require.Len(t, f.srv.Messages(fresh.ID), 1)
			require.Len(t, f.srv.Messages(old.ID), 1, "nothing more in the archived channel")
		})
	}
}
