package outbound

import (
	"slices"
	"strings"
	"sync"
)

// BreakerStatus is one provider's breaker state, as /readyz lists it.
type BreakerStatus struct {
	Provider string       `json:"provider"`
	State    BreakerState `json:"state"`
}

// Registry lists the clients of every provider so that a readiness probe
// can report their breakers. Add clients with WithRegistry. The zero value
// is not usable; call NewRegistry.
type Registry struct {
	mu      sync.Mutex
	clients map[string]*Client
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{clients: map[string]*Client{}}
}

// add lists c under its provider; a later client for the same provider
// replaces an earlier one.
func (r *Registry) add(c *Client) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clients[c.p.Provider] = c
}

// Breakers returns every listed provider's breaker state, sorted by
// provider.
func (r *Registry) Breakers() []BreakerStatus {
	r.mu.Lock()
	clients := make([]*Client, 0, len(r.clients))
	for _, c := range r.clients {
		clients = append(clients, c)
	}
	r.mu.Unlock()
	out := make([]BreakerStatus, 0, len(clients))
	for _, c := range clients {
		out = append(out, BreakerStatus{Provider: c.p.Provider, State: c.State()})
	}
	slices.SortFunc(out, func(a, b BreakerStatus) int { return strings.Compare(a.Provider, b.Provider) })
	return out
}

// Open returns the providers whose breaker is open, sorted; a readiness
// probe may report them without failing, since the bot still serves
// everything else.
func (r *Registry) Open() []string {
	var open []string
	for _, b := range r.Breakers() {
		if b.State == BreakerOpen {
			open = append(open, b.Provider)
		}
	}
	return open
}
