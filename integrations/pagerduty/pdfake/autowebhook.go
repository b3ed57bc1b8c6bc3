package pdfake

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"time"
)

// Webhooks configures the v3 webhooks the server sends by itself, as
// PagerDuty does for a webhook subscription, for the changes made through
// its APIs: incident.triggered for a new incident; incident.reassigned or
// incident.escalated (escalation_level) for new assignees; incident.reopened,
// incident.acknowledged and incident.resolved for a new status. The agent is
// the user of the request's From header (none for the Events API). Each
// delivery is signed with Secret like PagerDuty's (X-PagerDuty-Signature:
// v1=<hex HMAC-SHA256 of the body>).
type Webhooks struct {
	URL, Secret string
	// When says when a change's webhooks go out; by default in the
	// background as the change is answered, as PagerDuty's do.
	When WebhookTiming
	// Client sends the deliveries; nil means a plain client with a
	// 10-second timeout.
	Client *http.Client
}

// WebhookTiming says when the webhooks of a change are delivered.
type WebhookTiming int

const (
	// WebhooksAfterAnswer hands them to a background sender as the change
	// is answered, which delivers them one at a time and in order, as
	// PagerDuty does: the caller may or may not have handled the answer by
	// then. WaitWebhooks waits for them.
	WebhooksAfterAnswer WebhookTiming = iota
	// WebhooksBeforeAnswer delivers them before the request that made the
	// change is answered: PagerDuty's report beating the caller to
	// recording its own change.
	WebhooksBeforeAnswer
	// WebhooksHeld queues them until DeliverWebhooks sends them, for a test
	// that decides when PagerDuty's report arrives.
	WebhooksHeld
)

// WebhookDelivery is one webhook the server sent by itself.
type WebhookDelivery struct {
	EventType  string
	IncidentID string
	EventID    string
	// Status is the receiver's HTTP status; 0 when it did not answer.
	Status int
	Err    error
}

// WithWebhooks makes the server send v3 webhooks for the changes made
// through its APIs; see Webhooks.
func WithWebhooks(cfg Webhooks) Option {
	return func(s *Server) { s.auto.set(cfg) }
}

// SetWebhooks configures, or with a zero Webhooks stops, the webhooks the
// server sends by itself, for a receiver started after the server.
func (s *Server) SetWebhooks(cfg Webhooks) { s.auto.set(cfg) }

// DeliverWebhooks sends the webhooks held so far (WebhooksHeld), in order,
// and returns when they were delivered.
func (s *Server) DeliverWebhooks(ctx context.Context) {
	cfg := s.auto.config()
	for _, p := range s.auto.take() {
		s.auto.record(s.auto.deliver(ctx, cfg, p))
	}
}

// WaitWebhooks waits until every webhook queued so far was delivered;
// held ones (WebhooksHeld) wait for DeliverWebhooks.
func (s *Server) WaitWebhooks(ctx context.Context) error {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		if s.auto.idle() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pdfake: webhooks still queued: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// WebhookDeliveries returns the webhooks the server sent by itself, in
// order.
func (s *Server) WebhookDeliveries() []WebhookDelivery {
	s.auto.mu.Lock()
	defer s.auto.mu.Unlock()
	return slices.Clone(s.auto.delivered)
}

// autoWebhooks queues and sends the server's own webhooks. mu guards it; it
// is never held while world.mu is taken.
type autoWebhooks struct {
	mu        sync.Mutex
	cfg       Webhooks
	queue     []pendingWebhook
	sending   bool
	closed    bool
	delivered []WebhookDelivery
}

// pendingWebhook is a delivery built when its change was made.
type pendingWebhook struct {
	eventType, incidentID, eventID string
	body                           []byte
}

// changes collects the webhooks of one request's changes.
type changes struct{ list []pendingWebhook }

type changesKey struct{}

func (a *autoWebhooks) set(cfg Webhooks) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	a.cfg = cfg
}

func (a *autoWebhooks) config() Webhooks {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg
}

func (a *autoWebhooks) idle() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return (len(a.queue) == 0 || a.cfg.When == WebhooksHeld) && !a.sending
}

// take empties the queue of held webhooks.
func (a *autoWebhooks) take() []pendingWebhook {
	a.mu.Lock()
	defer a.mu.Unlock()
	list := a.queue
	a.queue = nil
	return list
}

func (a *autoWebhooks) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed, a.queue = true, nil
}

// withWebhooks runs a handler that may change incidents and sends the
// webhooks of its changes, before or after its answer as configured. The
// answer is held back until then.
func (s *Server) withWebhooks(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cfg := s.auto.config()
		if cfg.URL == "" {
			h(w, r)
			return
		}
		c := &changes{}
		rec := httptest.NewRecorder()
		h(rec, r.WithContext(context.WithValue(r.Context(), changesKey{}, c)))
		switch cfg.When {
		case WebhooksBeforeAnswer:
			for _, p := range c.list {
				s.auto.record(s.auto.deliver(r.Context(), cfg, p))
			}
		case WebhooksHeld:
			s.auto.hold(c.list)
		default:
			s.auto.enqueue(cfg, c.list)
		}
		copyAnswer(w, rec)
	}
}

// changed queues the webhook of eventType about inc, by the user agent (nil
// for none), for the request of ctx. The caller holds world.mu.
func (s *webhookSender) changed(ctx context.Context, eventType string, inc *Incident, agent *User) {
	c, ok := ctx.Value(changesKey{}).(*changes)
	if !ok || inc == nil {
		return
	}
	name := ""
	if agent != nil {
		name = agent.Name
	}
	d := webhookDelivery{}
	body := s.payloadLocked(eventType, inc.ID, name, &d)
	c.list = append(c.list, pendingWebhook{eventType: eventType, incidentID: inc.ID, eventID: d.eventID, body: body})
}

// incidentChanged queues the webhooks of the change from before to inc.
// The caller holds world.mu.
func (s *webhookSender) incidentChanged(ctx context.Context, before Incident, inc *Incident, escalated bool, agent *User) {
	if !slices.Equal(before.Assignees, inc.Assignees) {
		if escalated {
			s.changed(ctx, "incident.escalated", inc, agent)
		} else {
			s.changed(ctx, "incident.reassigned", inc, agent)
		}
	}
	if before.Status == inc.Status {
		return
	}
	if before.Status == "resolved" {
		s.changed(ctx, "incident.reopened", inc, agent)
	}
	switch inc.Status {
	case "acknowledged":
		s.changed(ctx, "incident.acknowledged", inc, agent)
	case "resolved":
		s.changed(ctx, "incident.resolved", inc, agent)
	}
}

func (a *autoWebhooks) hold(list []pendingWebhook) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closed {
		a.queue = append(a.queue, list...)
	}
}

func (a *autoWebhooks) enqueue(cfg Webhooks, list []pendingWebhook) {
	if len(list) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	a.queue = append(a.queue, list...)
	if !a.sending {
		a.sending = true
		go a.drain(cfg)
	}
}

// drain sends the queue, one delivery at a time, until it is empty.
func (a *autoWebhooks) drain(cfg Webhooks) {
	for {
		a.mu.Lock()
		if len(a.queue) == 0 || a.closed {
			a.sending = false
			a.mu.Unlock()
			return
		}
		p := a.queue[0]
		a.queue = a.queue[1:]
		a.mu.Unlock()
		a.record(a.deliver(context.Background(), cfg, p))
	}
}

func (a *autoWebhooks) record(d WebhookDelivery) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.delivered = append(a.delivered, d)
}

func (a *autoWebhooks) deliver(ctx context.Context, cfg Webhooks, p pendingWebhook) WebhookDelivery {
	d := WebhookDelivery{EventType: p.eventType, IncidentID: p.incidentID, EventID: p.eventID}
	resp, err := postWebhook(ctx, cfg.Client, cfg.URL, p.body, Sign(p.body, cfg.Secret))
	if err != nil {
		d.Err = err
		return d
	}
	resp.Body.Close()
	d.Status = resp.StatusCode
	return d
}
