package incident_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

func TestSlug(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"checkout is down", "checkout-is-down"},
		{"Checkout IS Down!!", "checkout-is-down"},
		{"Zahlungsausfall in Köln – Größe", "zahlungsausfall-in-koln-grosse"},
		{"Café crème brûlée", "cafe-creme-brulee"},
		{"Łódź żółć", "lodz-zolc"},
		{"🔥 API 🔥 latency 🚨", "api-latency"},
		{"  --already--dashed--  ", "already-dashed"},
		{"db_primary failover", "db-primary-failover"},
		{"e\u0301clair", "eclair"}, // combining accent
		{"🔥🔥🔥", ""},
		{"日本語のタイトル", ""},
		{"", ""},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, incident.Slug(tt.in), tt.in)
	}
}

func TestChannelName(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 8, 7, 23, 30, 0, 0, time.UTC)
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)

	require.Equal(t, "inc-2026-08-07-checkout-is-down", incident.ChannelName("inc", at, time.UTC, "checkout is down", 42, 1))
	require.Equal(t, "inc-2026-08-08-checkout-is-down", incident.ChannelName("inc", at, berlin, "checkout is down", 42, 1), "the date is in the configured time zone")
	require.Equal(t, "inc-2026-08-07-checkout-is-down-2", incident.ChannelName("inc", at, nil, "checkout is down", 42, 2))
	require.Equal(t, "inc-2026-08-07-checkout-is-down-13", incident.ChannelName("inc", at, nil, "checkout is down", 42, 13))
	require.Equal(t, "inc-2026-08-07-inc-42", incident.ChannelName("inc", at, nil, "🔥🔥🔥", 42, 1), "nothing usable: the incident number")
	require.Equal(t, "sev-2026-08-07-x", incident.ChannelName("SEV", at, nil, "x", 1, 1))

	long := strings.Repeat("database connection pool exhausted ", 10)
	for attempt := 1; attempt <= 12; attempt++ {
		name := incident.ChannelName("inc", at, nil, long, 7, attempt)
		require.LessOrEqual(t, len(name), incident.MaxChannelName, name)
		require.Regexp(t, `^[a-z0-9_-]+$`, name)
		require.NotContains(t, name, "--")
		base := strings.TrimPrefix(name, "inc-2026-08-07-")
		if attempt > 1 {
			require.True(t, strings.HasSuffix(name, "-"+strconv.Itoa(attempt)), name)
			base = strings.TrimSuffix(base, "-"+strconv.Itoa(attempt))
		}
		require.True(t, strings.HasPrefix(long, strings.ReplaceAll(base, "-", " ")+" "), "cut on a word boundary: %q", base)
	}

	oneWord := strings.Repeat("a", 120)
	name := incident.ChannelName("inc", at, nil, oneWord, 7, 1)
	require.Len(t, name, incident.MaxChannelName, "a single over-long word is cut hard")
}
