package incident_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestChannelNameLongPrefix: a channels.prefix so long that the prefix and
// the date alone would pass Slack's 80 characters is cut on a word
// boundary, so every incident still gets a channel Slack accepts (before,
// every conversations.create answered invalid_name_maxlength), with room
// left for the title; a drill keeps its "-drill" mark.
func TestChannelNameLongPrefix(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 8, 7, 23, 30, 0, 0, time.UTC)
	prefix := strings.Repeat("platform-incident-response-", 3) // 81 characters
	for _, tt := range []struct {
		prefix, title string
		attempt       int
	}{
		{prefix, "checkout is down", 1},
		{prefix, "checkout is down", 50},
		{prefix + "-drill", "game day", 1},
		{prefix + "-drill", "game day", 50},
		{strings.Repeat("x", 90), "checkout is down", 1},
		{prefix, "🔥🔥🔥", 1},
	} {
		name := incident.ChannelName(tt.prefix, at, nil, tt.title, 4242, tt.attempt)
		require.LessOrEqual(t, len(name), incident.MaxChannelName, name)
		require.Regexp(t, `^[a-z0-9_-]+$`, name)
		require.NotContains(t, name, "--", name)
		require.Contains(t, name, "-2026-08-07-", name)
		slug := incident.Slug(tt.title)
		if slug == "" {
			slug = "inc-4242"
		}
		require.Contains(t, name, "-2026-08-07-"+slug, "the title is kept whole: %s", name)
		if strings.HasSuffix(tt.prefix, "-drill") {
			require.Contains(t, name, "-drill-2026-08-07-", "a drill stays marked: %s", name)
		}
		if strings.HasPrefix(tt.prefix, "platform") {
			require.True(t, strings.HasPrefix(name, "platform-incident-response-"), name)
		}
	}
	require.Equal(t, "inc-drill-2026-08-07-game-day", incident.ChannelName("inc-drill", at, nil, "game day", 1, 1), "a short prefix is kept")
}
