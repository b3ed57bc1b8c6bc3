package bot

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// TestSplitMrkdwn: every piece fits, nothing is lost, and no piece ends
// inside markup or leaves a code block or quote open.
func TestSplitMrkdwn(t *testing.T) {
	t.Parallel()
	mention := strings.Repeat("see <@U0123456789> ", 300)
	tests := []struct {
		name  string
		text  string
		check func(t *testing.T, i int, piece string)
	}{
		{"mentions", mention, func(t *testing.T, _ int, p string) {
			require.Equal(t, strings.Count(p, "<"), strings.Count(p, ">"), "no mention is split: %q", p[len(p)-20:])
		}},
		{"entities", strings.Repeat("a&amp;b", 1000), func(t *testing.T, _ int, p string) {
			require.NotRegexp(t, `&[a-z]*$`, p)
			require.NotRegexp(t, `^[a-z]*;`, p)
		}},
		{"code block", "```" + strings.Repeat("line of code\n", 600) + "```", func(t *testing.T, _ int, p string) {
			require.True(t, strings.HasPrefix(p, "```") && strings.HasSuffix(p, "```"), "each piece is a whole code block")
		}},
		{"quote", "*Draft*\n>>> " + strings.Repeat("words ", 1200), func(t *testing.T, i int, p string) {
			if i > 0 {
				require.True(t, strings.HasPrefix(p, ">>> "))
			}
		}},
		{"emoji, no spaces", strings.Repeat("🔥ü", 4000), func(t *testing.T, _ int, p string) {
			require.True(t, utf8.ValidString(p))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pieces := splitMrkdwn(tt.text, maxTextObject)
			require.Greater(t, len(pieces), 1)
			var all strings.Builder
			for i, p := range pieces {
				require.LessOrEqual(t, utf8.RuneCountInString(p), maxTextObject)
				tt.check(t, i, p)
				all.WriteString(p)
			}
			strip := strings.NewReplacer(" ", "", "\n", "", "`", "", ">>>", "")
			require.Equal(t, strip.Replace(tt.text), strip.Replace(all.String()), "nothing is lost")
		})
	}
	require.Equal(t, []string{"short"}, splitMrkdwn("short", maxTextObject))
}
