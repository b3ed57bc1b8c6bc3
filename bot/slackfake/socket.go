package slackfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Ack is the app's acknowledgement of a Socket Mode envelope.
type Ack struct {
	EnvelopeID string
	// Payload is the ack's "payload" (the slash-command reply, a view_submission
	// response_action...), nil when the app acked without one.
	Payload json.RawMessage
	Time    time.Time
}

type socketConn struct {
	id   int // 1 for the first connection the server accepted, and so on
	ws   *websocket.Conn
	wmu  sync.Mutex // gorilla allows one concurrent writer
	done chan struct{}
	// retiring is set once the connection was told to disconnect: Slack
	// sends it nothing more.
	retiring bool
}

func (c *socketConn) writeJSON(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteJSON(v)
}

// socketHub holds the Socket Mode connections and the envelopes waiting for an ack.
type socketHub struct {
	mu      sync.Mutex
	seq     int
	tickets map[string]bool
	conns   []*socketConn
	changed chan struct{} // closed and replaced when a connection comes or goes
	pending map[string]chan Ack
	acks    []Ack
	closed  bool

	accepted   int // connections accepted so far, for their ids
	next       int // the round-robin position among the open connections
	deliveries []Delivery
	// redelivery is how Slack retries an Events API envelope that was not
	// acknowledged; zero means each envelope is sent once.
	redelivery redelivery
	// connectDelay holds each new connection's upgrade back, as a slow
	// network or a busy Slack edge would.
	connectDelay time.Duration
}

// redelivery is the retry schedule of unacknowledged envelopes.
type redelivery struct {
	ackTimeout time.Duration
	delays     []time.Duration
}

// Delivery is one envelope sent over Socket Mode, first or retried.
type Delivery struct {
	EnvelopeID string
	Type       string // events_api, slash_commands, interactive
	// Conn is the connection it went to: 1 for the first connection the
	// server accepted, 2 for the next, and so on.
	Conn         int
	RetryAttempt int
	RetryReason  string
	Payload      json.RawMessage
}

func (h *socketHub) init() {
	h.tickets = map[string]bool{}
	h.changed = make(chan struct{})
	h.pending = map[string]chan Ack{}
}

func (h *socketHub) newTicket() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	t := fmt.Sprintf("ticket-%08d", h.seq)
	h.tickets[t] = true
	return t
}

func (h *socketHub) notifyLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

func (h *socketHub) closeAll() {
	h.mu.Lock()
	h.closed = true
	conns := slices.Clone(h.conns)
	h.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "server closing"), time.Now().Add(time.Second))
		_ = c.ws.Close()
		<-c.done
	}
}

// serveSocket speaks Slack's Socket Mode protocol: a ticket from apps.connections.open
// is good for one connection; the server greets with "hello", pings on a timer and
// matches acks to envelopes by envelope_id.
func (s *socketMode) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	h := &s.sock
	h.mu.Lock()
	valid := h.tickets[ticket] && !h.closed
	delete(h.tickets, ticket)
	h.mu.Unlock()
	if !valid {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	h.mu.Lock()
	delay := h.connectDelay
	h.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	// slack-go sends Origin: https://api.slack.com, which never matches the fake's host.
	upgrader := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &socketConn{ws: ws, done: make(chan struct{})}
	defer close(c.done)

	h.mu.Lock()
	h.accepted++
	c.id = h.accepted
	h.conns = append(h.conns, c)
	n := len(h.conns)
	h.notifyLocked()
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.conns = slices.DeleteFunc(h.conns, func(x *socketConn) bool { return x == c })
		h.notifyLocked()
		h.mu.Unlock()
		_ = ws.Close()
	}()

	hello := map[string]any{
		"type":            "hello",
		"num_connections": n,
		"debug_info":      map[string]any{"host": "slackfake", "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": s.cfg.appID},
	}
	if err := c.writeJSON(hello); err != nil {
		return
	}

	stopPing := make(chan struct{})
	defer close(stopPing)
	go c.ping(s.cfg.pingInterval, stopPing)

	for {
		var msg struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if err := ws.ReadJSON(&msg); err != nil {
			var syntax *json.SyntaxError
			if errors.As(err, &syntax) {
				continue
			}
			return
		}
		if msg.EnvelopeID == "" {
			continue
		}
		ack := Ack{EnvelopeID: msg.EnvelopeID, Time: s.cfg.now()}
		if !isJSONNull(msg.Payload) {
			ack.Payload = msg.Payload
		}
		h.acked(ack)
	}
}

// ping sends a WebSocket ping every interval until stop closes or a ping
// fails.
func (c *socketConn) ping(interval time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if c.ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second)) != nil {
				return
			}
		}
	}
}

// acked records an ack and hands it to the push waiting for it, if any.
func (h *socketHub) acked(ack Ack) {
	h.mu.Lock()
	h.acks = append(h.acks, ack)
	ch := h.pending[ack.EnvelopeID]
	delete(h.pending, ack.EnvelopeID)
	h.mu.Unlock()
	if ch != nil {
		ch <- ack
	}
}

// SocketConnections returns how many Socket Mode connections are open.
func (s *socketMode) SocketConnections() int {
	s.sock.mu.Lock()
	defer s.sock.mu.Unlock()
	return len(s.sock.conns)
}

// WaitSocketConnected waits until at least one Socket Mode connection is open.
func (s *socketMode) WaitSocketConnected(ctx context.Context) error {
	_, err := s.sock.waitConn(ctx)
	return err
}

// SocketAcks returns every ack received over Socket Mode, oldest first.
func (s *socketMode) SocketAcks() []Ack {
	s.sock.mu.Lock()
	defer s.sock.mu.Unlock()
	return slices.Clone(s.sock.acks)
}

// DisconnectSockets asks every connected client to reconnect, as Slack does before
// it rotates a connection ({"type":"disconnect","reason":reason}), then closes them.
// slack-go's client reconnects by calling apps.connections.open again.
func (s *socketMode) DisconnectSockets(reason string) {
	s.sock.mu.Lock()
	conns := slices.Clone(s.sock.conns)
	for _, c := range conns {
		c.retiring = true
	}
	s.sock.mu.Unlock()
	for _, c := range conns {
		_ = c.writeJSON(map[string]any{
			"type": "disconnect", "reason": reason, "debug_info": map[string]any{"host": "slackfake"},
		})
		_ = c.ws.Close()
	}
}

// SocketRedelivery makes the server retry an Events API envelope that is not
// acknowledged within ackTimeout (Slack: 3 seconds), once after each of delays
// (Slack retries at once, after about a minute and after about five), with
// retry_attempt counting the retries and retry_reason "timeout". Each attempt
// is a new envelope and goes to whichever connection is next, as Slack's would.
// A command or an interaction is never retried: Slack shows its user an error
// instead. Without SocketRedelivery each envelope is sent once.
func (s *socketMode) SocketRedelivery(ackTimeout time.Duration, delays ...time.Duration) {
	s.sock.mu.Lock()
	defer s.sock.mu.Unlock()
	s.sock.redelivery = redelivery{ackTimeout: ackTimeout, delays: slices.Clone(delays)}
}

// SlowSocketConnects holds every later Socket Mode connection back for d before
// the WebSocket upgrade is answered, so a client reconnecting waits that long
// before it can write anything.
func (s *socketMode) SlowSocketConnects(d time.Duration) {
	s.sock.mu.Lock()
	defer s.sock.mu.Unlock()
	s.sock.connectDelay = d
}

// SocketDeliveries returns every envelope sent over Socket Mode, oldest first.
func (s *socketMode) SocketDeliveries() []Delivery {
	s.sock.mu.Lock()
	defer s.sock.mu.Unlock()
	return slices.Clone(s.sock.deliveries)
}

// waitConn returns the connection the next envelope goes to: Slack spreads
// envelopes over the app's open connections, so the fake takes them in turn,
// skipping those told to disconnect, and waits for one if none is open.
func (h *socketHub) waitConn(ctx context.Context) (*socketConn, error) {
	for {
		h.mu.Lock()
		var open []*socketConn
		for _, c := range h.conns {
			if !c.retiring {
				open = append(open, c)
			}
		}
		if len(open) > 0 {
			c := open[h.next%len(open)]
			h.next++
			h.mu.Unlock()
			return c, nil
		}
		changed := h.changed
		h.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for a socket mode connection: %w", ctx.Err())
		}
	}
}

// envelope is one Socket Mode message from Slack to the app.
type envelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt,omitempty"`
	RetryReason            string          `json:"retry_reason,omitempty"`
}

// push sends an envelope on the next connection (waiting for one if needed)
// and waits for its ack, sending an Events API envelope again as SocketRedelivery
// says when it is not acknowledged in time.
func (s *socketMode) push(ctx context.Context, env envelope) (Ack, error) {
	h := &s.sock
	h.mu.Lock()
	plan := h.redelivery
	h.mu.Unlock()
	if env.Type != "events_api" || plan.ackTimeout <= 0 {
		plan = redelivery{}
	}
	ch := make(chan Ack, 1+len(plan.delays))
	var ids []string
	defer func() {
		h.mu.Lock()
		for _, id := range ids {
			delete(h.pending, id)
		}
		h.mu.Unlock()
	}()
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			env.RetryAttempt, env.RetryReason = attempt, "timeout"
		}
		c, err := h.waitConn(ctx)
		if err != nil {
			return Ack{}, err
		}
		h.mu.Lock()
		h.seq++
		env.EnvelopeID = fmt.Sprintf("%08x-fake-%04d-envelope", h.seq, h.seq%10000)
		ids = append(ids, env.EnvelopeID)
		h.pending[env.EnvelopeID] = ch
		h.deliveries = append(h.deliveries, Delivery{EnvelopeID: env.EnvelopeID, Type: env.Type, Conn: c.id,
			RetryAttempt: env.RetryAttempt, RetryReason: env.RetryReason, Payload: env.Payload})
		h.mu.Unlock()

		if err := c.writeJSON(env); err != nil && plan.ackTimeout <= 0 {
			return Ack{}, fmt.Errorf("write %s envelope: %w", env.Type, err)
		}
		var timeout <-chan time.Time
		if plan.ackTimeout > 0 {
			t := time.NewTimer(plan.ackTimeout)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case ack := <-ch:
			return ack, nil
		case <-ctx.Done():
			return Ack{}, fmt.Errorf("wait for ack of %s envelope %s: %w", env.Type, env.EnvelopeID, ctx.Err())
		case <-timeout:
		}
		if attempt == len(plan.delays) {
			return Ack{}, fmt.Errorf("%s envelope not acknowledged after %d attempts", env.Type, attempt+1)
		}
		select {
		case ack := <-ch: // a late ack still counts
			return ack, nil
		case <-ctx.Done():
			return Ack{}, fmt.Errorf("wait to retry %s envelope %s: %w", env.Type, env.EnvelopeID, ctx.Err())
		case <-time.After(plan.delays[attempt]):
		}
	}
}
