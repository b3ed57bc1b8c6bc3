package bot_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
)

// TestStatusPageFailureEndsItsErrorAsTheDraftsDo: the failure notice ends
// the provider's error as a sentence by the rule the status page drafts
// use: a trailing colon, comma or semicolon becomes the full stop, never
// ":." in the channel.
func TestStatusPageFailureEndsItsErrorAsTheDraftsDo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ err, want string }{
		{"Statuspage refused the post: body:", "Statuspage refused the post: body. Sending it again"},
		{"Statuspage refused the post;", "Statuspage refused the post. Sending it again"},
		{"Statuspage refused the post,", "Statuspage refused the post. Sending it again"},
		{"Le service a répondu « non. »", "Le service a répondu « non. » Sending it again"},
		{"Statuspage refused the post", "Statuspage refused the post. Sending it again"},
	} {
		got := bot.NoticeText(incident.Notice{Kind: incident.NoticeStatusPageFailed, Incident: "INC-42", Actor: "statuspage",
			Values: map[string]string{"provider": "Statuspage", "error": tc.err, "retry": "final"}})
		require.Contains(t, got, tc.want, tc.err)
		require.Equal(t, incident.EndSentence(tc.err), incident.EndSentence(incident.EndSentence(tc.err)))
	}
}
