package bot

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

func TestLink(t *testing.T) {
	t.Parallel()
	cases := []struct{ url, label, want string }{
		{"https://github.com/acme/checkout/deployments/7", "Deploy abc", "<https://github.com/acme/checkout/deployments/7|Deploy abc>"},
		{"https://ci.example/run?a=1&b=2", "run", "<https://ci.example/run?a=1&b=2|run>"},
		// A second link, a mention or a new label cannot be smuggled in.
		{"https://evil.example/x|click here", "Deploy", "<https://evil.example/x%7Cclick%20here|Deploy>"},
		{"https://evil.example/?q=><!channel>", "Deploy", "<https://evil.example/?q=%3E%3C!channel%3E|Deploy>"},
		{"https://evil.example/a b", "Deploy", "<https://evil.example/a%20b|Deploy>"},
		{"https://x.example/", "<!here> p99 > 2s", "<https://x.example/|&lt;!here&gt; p99 &gt; 2s>"},
		// Not a web address: the label alone.
		{"javascript:alert(1)", "Deploy", "Deploy"},
		{"not a url", "a <b>", "a &lt;b&gt;"},
		{"https://evil.example/\nx", "Deploy", "Deploy"},
	}
	for _, c := range cases {
		got := Link(c.url, c.label)
		require.Equal(t, c.want, got, c.url)
		if !strings.HasPrefix(got, "<") {
			require.NotContains(t, got, "<", c.url)
			continue
		}
		inner := strings.TrimSuffix(strings.TrimPrefix(got, "<"), ">")
		require.NotContains(t, inner, "<", c.url)
		require.NotContains(t, inner, ">", c.url)
		require.NotContains(t, strings.SplitN(inner, "|", 2)[0], " ", c.url)
	}
}

// TestChangeBlocksLinkFromAWebhook: a change's URL and summary come from
// webhooks; they render as one link with an escaped label.
func TestChangeBlocksLinkFromAWebhook(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC)
	inc := &incident.Incident{ID: 7, Title: "checkout is down", DeclaredAt: start}
	list := incident.ChangeList{Start: start, Items: []incident.ChangeItem{{Change: incident.ChangeEvent{
		Source: "github", Kind: incident.ChangeDeploy, Summary: "Deploy <!channel>", OccurredAt: start.Add(-time.Minute),
		URL: "https://evil.example/x|<@U0BOSS> approved",
	}}}}
	raw, err := json.Marshal(ChangeBlocks(inc, list, time.UTC))
	require.NoError(t, err)
	require.Contains(t, string(raw), "\\u003chttps://evil.example/x%7C%3C@U0BOSS%3E%20approved|Deploy \\u0026lt;!channel\\u0026gt;\\u003e")
	require.NotContains(t, string(raw), "\\u003c!channel")
	require.NotContains(t, string(raw), "\\u003c@U0BOSS")
}
