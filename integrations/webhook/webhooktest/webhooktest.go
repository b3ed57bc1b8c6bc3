// Package webhooktest holds what the webhook receivers' tests share: a log
// sink handlers may write from their goroutines, and the check of the
// counter of deliveries dropped for their event type.
package webhooktest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// LogBuffer collects log output written from handlers' goroutines.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// RequireIgnored checks that reg's firebreak_webhook_events_ignored_total
// holds exactly counts, by provider and event type.
func RequireIgnored(t testing.TB, reg *prometheus.Registry, counts map[[2]string]int) {
	t.Helper()
	keys := make([][2]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	var want strings.Builder
	want.WriteString("# HELP firebreak_webhook_events_ignored_total Verified webhook deliveries acknowledged and dropped because firebreak does not act on their event type, by provider and type.\n")
	want.WriteString("# TYPE firebreak_webhook_events_ignored_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(&want, "firebreak_webhook_events_ignored_total{provider=%q,type=%q} %d\n", k[0], k[1], counts[k])
	}
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want.String()), "firebreak_webhook_events_ignored_total"))
}
