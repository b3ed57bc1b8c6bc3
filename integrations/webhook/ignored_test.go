package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/webhook"
)

// lockedBuffer collects log output written from handlers' goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestIgnoredCountsEachAndLogsTheFirstOfAType: every dropped delivery is
// counted by provider and type; the log has one info line per type.
func TestIgnoredCountsEachAndLogsTheFirstOfAType(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	ig := webhook.NewIgnored(reg)
	var out lockedBuffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	ctx := context.Background()

	ig.Event(ctx, log, "pagerduty", "service.updated")
	ig.Event(ctx, log, "pagerduty", "service.updated")
	ig.Event(ctx, log, "pagerduty", "incident.priority_updated")
	ig.Event(ctx, log, "unleash", "service.updated")
	ig.Event(ctx, log, "unleash", "  ")

	c, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, c, 1)
	require.Equal(t, "firebreak_webhook_events_ignored_total", c[0].GetName())
	want := `
# HELP firebreak_webhook_events_ignored_total Verified webhook deliveries acknowledged and dropped because firebreak does not act on their event type, by provider and type.
# TYPE firebreak_webhook_events_ignored_total counter
firebreak_webhook_events_ignored_total{provider="pagerduty",type="incident.priority_updated"} 1
firebreak_webhook_events_ignored_total{provider="pagerduty",type="service.updated"} 2
firebreak_webhook_events_ignored_total{provider="unleash",type="none"} 1
firebreak_webhook_events_ignored_total{provider="unleash",type="service.updated"} 1
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want)))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 4, "one line per provider and type: %s", out.String())
	require.Contains(t, lines[0], "level=INFO")
	require.Contains(t, lines[0], "provider=pagerduty")
	require.Contains(t, lines[0], "event_type=service.updated")
}

// TestIgnoredBoundsTheTypesItNames: past the bound, new types are counted
// as "other", and logged once as such.
func TestIgnoredBoundsTheTypesItNames(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	ig := webhook.NewIgnored(reg)
	var out lockedBuffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	for i := range 150 {
		ig.Event(context.Background(), log, "unleash", fmt.Sprintf("made-up-%03d", i))
	}
	require.Equal(t, 101, testutil.CollectAndCount(reg, "firebreak_webhook_events_ignored_total"), "100 types and other")
	require.Equal(t, 101, strings.Count(out.String(), "\n"))
	require.Contains(t, out.String(), "event_type=other")
}
