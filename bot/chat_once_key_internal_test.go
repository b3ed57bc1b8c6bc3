package bot

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// The times a post key leaves out are those incident.Since renders, and
// nothing else of a message.
func TestPostKeyLeavesOutElapsedTimes(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, d := range []time.Duration{0, 12 * time.Second, 4*time.Minute + 12*time.Second, time.Hour + 5*time.Minute,
		47*time.Hour + 59*time.Minute, 50 * time.Hour, 30 * 24 * time.Hour} {
		s := incident.Since(start, start.Add(d))
		require.Equal(t, "…", elapsed.ReplaceAllLiteralString(s, "…"), "Since(%s) = %q", d, s)
		require.Equal(t, "(declared …)", elapsed.ReplaceAllLiteralString("(declared "+s+")", "…"))
	}
	for _, d := range []time.Duration{12 * time.Second, time.Minute, 12 * time.Minute, time.Hour + 5*time.Minute, 50 * time.Hour} {
		s := incident.DurationWords(d)
		require.Equal(t, "left: ….", elapsed.ReplaceAllLiteralString("left: "+s+".", "…"), "DurationWords(%s) = %q", d, s)
	}
	for _, kept := range []string{"INC-12", "2026-03-01 09:00", "P1", "v2s", "abc12s", "12sx", "#inc-2026-03-01-db", "3 open, 2 overdue", "12 minutesx"} {
		require.Equal(t, kept, elapsed.ReplaceAllLiteralString(kept, "…"))
	}
	ctx := incident.WithJobRun(t.Context(), 9, 2, 5)
	require.Equal(t, postKey(ctx, "nag", "C1\nnone for 15m02s."), postKey(ctx, "nag", "C1\nnone for 15m07s."))
	require.NotEqual(t, postKey(ctx, "nag", "C1\nnone for 15m02s."), postKey(ctx, "nag", "C1\nnone at all."))
	require.Equal(t, postKey(ctx, "notice", "C1\n12 minutes left"), postKey(ctx, "notice", "C1\n11 minutes left"))
}
