package bot

import (
	"testing"

	"github.com/stretchr/testify/require"
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
	require.Equal(t, "<!channel> p99 > 2s & more", unescapeSlack("&lt;!channel&gt; p99 &gt; 2s &amp; more"))
	require.Equal(t, "&lt;", unescapeSlack("&amp;lt;"), "what the person typed literally stays literal")
}
