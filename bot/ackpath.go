package bot

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/firebreakhq/firebreak/httpjson"
	"github.com/firebreakhq/firebreak/incident"
)

// Defaults of the acknowledgement path.
const (
	// DefaultAckDeadline bounds the work done before a slash command or an
	// interaction is answered: Slack gives up after 3 seconds, and the
	// answer (even "try again") must reach it first.
	DefaultAckDeadline = 2500 * time.Millisecond
	// DefaultMaxInFlight bounds the Slack requests handled at once; more
	// are refused at once rather than answered late.
	DefaultMaxInFlight = 256
	// replayWindow is how long a request signature stays valid, and so how
	// long it is remembered.
	replayWindow = 5 * time.Minute
	// replayQueue bounds the signatures waiting to be recorded.
	replayQueue = 4096
	// replayLinger is how long the writer gathers signatures after the
	// first before it records them: under load one statement carries many
	// rows instead of each carrying a few.
	replayLinger = 20 * time.Millisecond
	// replayPrune is how often the in-memory signatures are swept of those
	// older than the window, once there are many.
	replayPrune = 10 * time.Second
)

// msgStoreDown is what a user sees when the database does not answer in
// time: nothing was changed, and trying again is safe.
const msgStoreDown = "The incident database is not answering right now, so nothing was changed. Please try again in a moment."

// storeDown reports whether err is the database refusing or timing out,
// rather than a provider being unavailable.
func storeDown(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errStoreSlow) ||
		strings.Contains(incident.ErrorMessage(err), "database")
}

// errStoreSlow marks an ack-path deadline that expired.
var errStoreSlow = errors.New("the acknowledgement deadline passed")

// replayGuard remembers the signatures of accepted requests in memory, so
// the replay check costs no database write on the acknowledgement path, and
// records them in the database in the background, so a replica that
// receives a replay of another's request learns of it.
type replayGuard struct {
	deliveries Deliveries
	clock      incident.Clock
	onReplay   func(sig string)

	mu     sync.Mutex
	seen   map[string]time.Time
	pruned time.Time
	once   sync.Once
	q      chan incident.Delivery
}

// replayKey is what the replay check remembers of a verified request: its
// timestamp, then the first 128 bits of its signature. A replay repeats
// both. Keys that begin with the time sit together in the database's index,
// so a batch of them is written to a few pages rather than one page each
// (random keys cost 2.5 times the CPU per signature on SQLite,
// BenchmarkRecordDeliveries).
func replayKey(h http.Header) string {
	sig := strings.TrimPrefix(h.Get("X-Slack-Signature"), "v0=")
	return h.Get("X-Slack-Request-Timestamp") + ":" + sig[:min(len(sig), 32)]
}

// firstSeen reports whether sig is new, remembering it.
func (g *replayGuard) firstSeen(sig string) bool {
	now := g.clock.Now()
	g.mu.Lock()
	if g.seen == nil {
		g.seen = map[string]time.Time{}
	}
	if at, ok := g.seen[sig]; ok && now.Sub(at) < replayWindow {
		g.mu.Unlock()
		return false
	}
	g.seen[sig] = now
	if len(g.seen) > 100_000 && now.Sub(g.pruned) >= replayPrune {
		// Swept at most every replayPrune: a sweep reads every entry.
		g.pruned = now
		for k, at := range g.seen {
			if now.Sub(at) >= replayWindow {
				delete(g.seen, k)
			}
		}
	}
	g.mu.Unlock()
	g.record(incident.Delivery{Source: "slack-signature", ID: sig, ReceivedAt: now})
	return true
}

// record hands the signature to the background writer; when its queue is
// full it is dropped (the in-memory check still holds for this replica).
func (g *replayGuard) record(d incident.Delivery) {
	g.once.Do(func() {
		g.q = make(chan incident.Delivery, replayQueue)
		go g.write()
	})
	select {
	case g.q <- d:
	default:
	}
}

// BatchDeliveries records several deliveries in one write, reporting for
// each whether it was the first. A Deliveries that implements it gets the
// signatures waiting to be recorded together.
type BatchDeliveries interface {
	RecordDeliveries(ctx context.Context, ds []incident.Delivery) (first []bool, err error)
}

// replayBatch bounds the signatures recorded in one write.
const replayBatch = 256

// write records the signatures in the background: each one alone, or, when
// the store can, all those waiting at once, so that a burst of commands
// costs the database a few writes rather than one each.
func (g *replayGuard) write() {
	batcher, _ := g.deliveries.(BatchDeliveries)
	batch := make([]incident.Delivery, 0, replayBatch)
	for d := range g.q {
		batch = append(batch[:0], d)
		if batcher != nil {
			batch = gather(g.q, batch, replayBatch, replayLinger)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var first []bool
		var err error
		if batcher != nil {
			first, err = batcher.RecordDeliveries(ctx, batch)
		} else {
			var f bool
			f, err = g.deliveries.RecordDelivery(ctx, d)
			first = []bool{f}
		}
		cancel()
		if err != nil || g.onReplay == nil {
			continue
		}
		for i, f := range first {
			if !f {
				g.onReplay(batch[i].ID)
			}
		}
	}
}

// gather adds to batch what arrives on q within linger, up to size in all.
func gather(q <-chan incident.Delivery, batch []incident.Delivery, size int, linger time.Duration) []incident.Delivery {
	timer := time.NewTimer(linger)
	defer timer.Stop()
	for len(batch) < size {
		select {
		case d, ok := <-q:
			if !ok {
				return batch
			}
			batch = append(batch, d)
		case <-timer.C:
			return batch
		}
	}
	return batch
}

// msgOverloaded answers a slash command beyond the in-flight bound.
const msgOverloaded = "The bot is overloaded right now and did not run this; please try again in a moment."

// tryAdmit takes a place among the requests handled at once, or reports
// false when all are taken; release gives it back.
func (h *Handler) tryAdmit() bool {
	select {
	case h.inFlight <- struct{}{}:
		return true
	default:
		return false
	}
}

func (h *Handler) release() { <-h.inFlight }

// admit bounds the Slack requests handled at once. A request beyond the
// bound is refused at once: a slash command with the bot's own sentence,
// anything else with 503, which Slack retries.
func (h *Handler) admit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.tryAdmit() {
			defer h.release()
		} else {
			h.metrics.requests.WithLabelValues(kindOf(r), "overloaded").Inc()
			if r.URL.Path == "/slack/commands" {
				httpjson.Write(w, http.StatusOK, ephemeral("%s", msgOverloaded))
				return
			}
			w.Header().Set("Retry-After", "1")
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}
