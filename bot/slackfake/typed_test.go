package slackfake_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// TestTypedIsTheTextSlackSends: what a person types becomes the slash
// command's text as Slack sends it with should_escape: & < > escaped, the
// people, groups and channels of the workspace and @here in markup,
// addresses as links; a word naming nothing stays as typed.
func TestTypedIsTheTextSlackSends(t *testing.T) {
	t.Parallel()
	srv := slackfake.New()
	t.Cleanup(srv.Close)
	bob := srv.AddUser(slackfake.User{Name: "bob"})
	dba := srv.AddUserGroup(slackfake.UserGroup{Handle: "dba", Name: "DBAs"})
	inc := srv.AddChannel(slackfake.Channel{Name: "incidents"})
	d := slackfake.NewDriver(srv, "secret")

	tests := []struct{ typed, sent string }{
		{"update a < b & c", "update a &lt; b &amp; c"},
		{"update @bob, look at #incidents.", "update <@" + bob.ID + "|bob>, look at <#" + inc.ID + "|incidents>."},
		{"@here @channel @everyone @dba", "<!here> <!channel> <!everyone> <!subteam^" + dba.ID + "|@dba>"},
		{"see https://x.example/a?b=1&c=2.", "see <https://x.example/a?b=1&amp;c=2>."},
		{"@nobody #nowhere a@bob", "@nobody #nowhere a@bob"},
		{"<@" + bob.ID + ">", "&lt;@" + bob.ID + "&gt;"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.sent, d.Typed(tt.typed), tt.typed)
	}
}
