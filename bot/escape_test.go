package bot

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

func TestEscape(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"checkout is down", "checkout is down"},
		{"<!channel> p99 > 2s", "&lt;!channel&gt; p99 &gt; 2s"},
		{"<!here> <@U123> <#C1> <https://evil.example|click>", "&lt;!here&gt; &lt;@U123&gt; &lt;#C1&gt; &lt;https://evil.example|click&gt;"},
		{"p99 &gt; 2s", "p99 &gt; 2s"},
		{"fish & chips", "fish &amp; chips"},
		{"&amp; &lt; &gt; &quot;", "&amp; &lt; &gt; &amp;quot;"},
		{"a&b<c>d", "a&amp;b&lt;c&gt;d"},
		{"&", "&amp;"},
		{"", ""},
	}
	for _, c := range cases {
		got := Escape(c.in)
		require.Equal(t, c.want, got, c.in)
		require.Equal(t, got, Escape(got), "escaping twice changes nothing: %q", c.in)
		require.NotContains(t, got, "<", c.in)
		require.NotContains(t, got, ">", c.in)
	}
	require.Equal(t, "<!channel> p99 > 2s & more", incident.UnescapeText("&lt;!channel&gt; p99 &gt; 2s &amp; more"))
	require.Equal(t, "&lt;", incident.UnescapeText("&amp;lt;"), "what the person typed literally stays literal")
}

// A domain error names people by id; the person reading it in Slack sees
// their mention.
func TestUserMessageMentionsThePeopleAnErrorNames(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("approve rollback: %w", incident.Errorf(incident.ECONFLICT, "This rollback was already approved by %s.", incident.User("U0BOB")))
	require.Equal(t, "This rollback was already approved by <@U0BOB>.", userMessage(err))
	err = incident.Errorf(incident.ECONFLICT, "%s dismissed this alert as not an incident.", incident.User("bot"))
	require.Equal(t, "firebreak dismissed this alert as not an incident.", userMessage(err))
}
