package webhook

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// maxIgnoredTypes bounds the event types Ignored names apart, per provider;
// later ones are counted as "other". A provider's own catalogue is far
// smaller, and a verified sender cannot grow the series without end.
const maxIgnoredTypes = 100

// maxTypeLen bounds an event type's length in a label or a log line.
const maxTypeLen = 80

// Ignored notes the deliveries of an event type a provider sent and
// firebreak does not act on, which are acknowledged with a 2xx and
// dropped: each is counted in firebreak_webhook_events_ignored_total
// {provider, type}, and the first of each type is logged at info, once per
// process, so a subscription sending more than it needs (or an event
// firebreak should learn) shows without flooding the log. It is safe for
// concurrent use; one is shared by every provider's handler.
type Ignored struct {
	counter *prometheus.CounterVec
	mu      sync.Mutex
	seen    map[string]map[string]bool // provider -> type
}

// NewIgnored returns an Ignored whose counter is registered with reg; a nil
// reg leaves it unregistered (the log lines remain). It panics if the
// counter is already registered, like prometheus.MustRegister, since that
// is a wiring bug.
func NewIgnored(reg prometheus.Registerer) *Ignored {
	ig := &Ignored{
		counter: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_webhook_events_ignored_total",
			Help: "Verified webhook deliveries acknowledged and dropped because firebreak does not act on their event type, by provider and type.",
		}, []string{"provider", "type"}),
		seen: map[string]map[string]bool{},
	}
	if reg != nil {
		reg.MustRegister(ig.counter)
	}
	return ig
}

// Event counts one delivery of eventType from provider that is dropped,
// and logs the first of its type. An empty type is counted as "none".
func (ig *Ignored) Event(ctx context.Context, log *slog.Logger, provider, eventType string) {
	eventType = strings.TrimSpace(eventType)
	if eventType == "" {
		eventType = "none"
	}
	if utf8.RuneCountInString(eventType) > maxTypeLen {
		eventType = string([]rune(eventType)[:maxTypeLen])
	}
	ig.mu.Lock()
	types := ig.seen[provider]
	if types == nil {
		types = map[string]bool{}
		ig.seen[provider] = types
	}
	first := !types[eventType]
	if first && len(types) >= maxIgnoredTypes {
		eventType, first = "other", !types["other"]
	}
	types[eventType] = true
	ig.mu.Unlock()
	ig.counter.WithLabelValues(provider, eventType).Inc()
	if first && log != nil {
		log.InfoContext(ctx, "webhook event type not handled: acknowledged and dropped (logged once per type)",
			slog.String("provider", provider), slog.String("event_type", eventType))
	}
}
