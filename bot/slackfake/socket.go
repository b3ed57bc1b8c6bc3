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
	ws   *websocket.Conn
	wmu  sync.Mutex // gorilla allows one concurrent writer
	done chan struct{}
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
	// slack-go sends Origin: https://api.slack.com, which never matches the fake's host.
	upgrader := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &socketConn{ws: ws, done: make(chan struct{})}
	defer close(c.done)

	h.mu.Lock()
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
	s.sock.mu.Unlock()
	for _, c := range conns {
		_ = c.writeJSON(map[string]any{
			"type": "disconnect", "reason": reason, "debug_info": map[string]any{"host": "slackfake"},
		})
		_ = c.ws.Close()
	}
}

func (h *socketHub) waitConn(ctx context.Context) (*socketConn, error) {
	for {
		h.mu.Lock()
		if len(h.conns) > 0 {
			c := h.conns[len(h.conns)-1]
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

// push sends an envelope on the newest connection (waiting for one if needed) and
// waits for its ack.
func (s *socketMode) push(ctx context.Context, env envelope) (Ack, error) {
	h := &s.sock
	c, err := h.waitConn(ctx)
	if err != nil {
		return Ack{}, err
	}
	h.mu.Lock()
	h.seq++
	env.EnvelopeID = fmt.Sprintf("%08x-fake-%04d-envelope", h.seq, h.seq%10000)
	ch := make(chan Ack, 1)
	h.pending[env.EnvelopeID] = ch
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.pending, env.EnvelopeID)
		h.mu.Unlock()
	}()

	if err := c.writeJSON(env); err != nil {
		return Ack{}, fmt.Errorf("write %s envelope: %w", env.Type, err)
	}
	select {
	case ack := <-ch:
		return ack, nil
	case <-ctx.Done():
		return Ack{}, fmt.Errorf("wait for ack of %s envelope %s: %w", env.Type, env.EnvelopeID, ctx.Err())
	}
}
