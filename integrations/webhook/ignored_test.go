package webhook_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/webhook"
	"github.com/firebreakhq/firebreak/integrations/webhook/webhooktest"
)

// TestIgnoredCountsEachAndLogsTheFirstOfAType: every dropped delivery is
// counted by provider and type; the log has one info line per type.
func TestIgnoredCountsEachAndLogsTheFirstOfAType(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	ig := webhook.NewIgnored(reg)
	var out webhooktest.LogBuffer
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
	webhooktest.RequireIgnored(t, reg, map[[2]string]int{{"pagerduty", "incident.priority_updated"}: 1, {"pagerduty", "service.updated"}: 2, {"unleash", "none"}: 1, {"unleash", "service.updated"}: 1})
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
	var out webhooktest.LogBuffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	for i := range 150 {
		ig.Event(context.Background(), log, "unleash", fmt.Sprintf("made-up-%03d", i))
	}
	require.Equal(t, 101, testutil.CollectAndCount(reg, "firebreak_webhook_events_ignored_total"), "100 types and other")
	require.Equal(t, 101, strings.Count(out.String(), "\n"))
	require.Contains(t, out.String(), "event_type=other")
}
