package bot

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/firebreakhq/firebreak/httpjson"
	"github.com/firebreakhq/firebreak/incident"
)

// Defaults of the acknowledgement path.
const (
	// DefaultAckDeadline bounds the work done before a slash command or an
	// interaction is answered: Slack gives up 3 seconds after it sent the
	// request, and the answer (even "try again") must reach it first,
	// across the network both ways and past a slow TLS handshake, so half
	// of Slack's time is kept for the trip.
	DefaultAckDeadline = 1500 * time.Millisecond
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
	// replayPoll is how often a process reads the signatures the others
	// accepted: a replay sent to another process later than this (and
	// within the signature's window) is refused there.
	replayPoll = time.Second
	// replayOverlap is how far back each read starts before the previous
	// one did.
	replayOverlap = 10 * time.Second
	// replayReadTimeout bounds one read of the other processes' signatures,
	// and one write of this process's.
	replayReadTimeout = 5 * time.Second
)

// msgStoreDown is what a user sees when the database does not answer in
// time: nothing was changed, and trying again is safe.
const msgStoreDown = "The incident database is not answering right now, so nothing was changed. Please try again in a moment."

// storeDown reports whether err is the database refusing or timing out,
// rather than a provider being unavailable. A failed Slack call (an
// apiError, whatever its cause: Slack slow to answer within the deadline,
// rate limiting, down) is Slack's, and says so; the store's errors carry no
// Slack call, and are either its own sentence about the database
// (EUNAVAILABLE, from gormstore) or the deadline passing while it worked.
func storeDown(err error) bool {
	var slackCall *apiError
	if errors.As(err, &slackCall) {
		return false
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errStoreSlow) ||
		strings.Contains(incident.ErrorMessage(err), "database")
}

// errStoreSlow marks an ack-path deadline that expired.
var errStoreSlow = errors.New("the acknowledgement deadline passed")

// ReplayRecords shares the signatures of the requests each process
// accepted (incident.ReplayStore).
type ReplayRecords interface {
	RecordReplayBatch(ctx context.Context, b incident.ReplayBatch) error
	ReplayBatchesSince(ctx context.Context, since time.Time, except string) ([]incident.ReplayBatch, error)
}

// replayGuard remembers the signatures of accepted requests in memory, so
// the replay check costs no database write on the acknowledgement path.
// With records, it also writes the signatures this process accepts there in
// the background, a batch a row, and reads the other processes' batches
// every replayPoll (share): a replay of a request another process accepted
// is then refused here too, and one that came before its batch was read is
// counted by each process that accepted it (onReplay). Reading the last
// two replayWindows at start, a restarted process refuses replays of
// requests it accepted before. A signature is remembered until Slack's
// check would refuse it anyway (seenKey.expired).
type replayGuard struct {
	records  ReplayRecords // nil: this process's memory only
	instance string        // this process, in the records
	clock    incident.Clock
	onReplay func(key string)
	log      *slog.Logger
	// readTimeout bounds one read of the others' signatures; 0 is
	// replayReadTimeout.
	readTimeout time.Duration

	mu     sync.Mutex
	seen   map[string]seenKey
	pruned time.Time
	once   sync.Once
	q      chan string
}

// seenKey is when a signature was accepted, or learnt of, and by whom.
type seenKey struct {
	at time.Time
	// signed is the request's timestamp, zero when the key has none.
	signed   time.Time
	here     bool // accepted by this process
	replayed bool // another process accepted it too, and onReplay was told
}

// expired reports whether the signature can be forgotten at now: a
// window after it was accepted, and once Slack's check refuses its
// timestamp. That check accepts a timestamp up to five minutes either way
// of the clock, so a request signed ahead of this process's clock (a
// Slack clock ahead of it, or a timestamp in the future) stays valid
// longer than a window after it was accepted, and a replay of it then
// would pass.
func (k seenKey) expired(now time.Time) bool {
	return now.Sub(k.at) >= replayWindow && now.Sub(k.signed) > replayWindow
}

// signedAt is the timestamp a replay key starts with; zero when it has
// none.
func signedAt(key string) time.Time {
	ts, _, ok := strings.Cut(key, ":")
	if !ok {
		return time.Time{}
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

// replayKey is what the replay check remembers of a verified request: its
// timestamp, then the first 128 bits of its signature. A replay repeats
// both. The signature is hex, accepted in either case, so it is remembered
// in lower case: a replay that only re-cases it is the same request.
func replayKey(h http.Header) string {
	sig := strings.TrimPrefix(h.Get("X-Slack-Signature"), "v0=")
	return h.Get("X-Slack-Request-Timestamp") + ":" + strings.ToLower(sig[:min(len(sig), 32)])
}

// firstSeen reports whether sig is new, remembering it.
func (g *replayGuard) firstSeen(sig string) bool {
	now := g.clock.Now()
	g.mu.Lock()
	if g.seen == nil {
		g.seen = map[string]seenKey{}
	}
	if k, ok := g.seen[sig]; ok && !k.expired(now) {
		g.mu.Unlock()
		return false
	}
	g.seen[sig] = seenKey{at: now, signed: signedAt(sig), here: true}
	g.pruneLocked(now)
	g.mu.Unlock()
	g.record(sig)
	return true
}

// pruneLocked sweeps the signatures that expired, once there are many, at
// most every replayPrune: a sweep reads every entry.
func (g *replayGuard) pruneLocked(now time.Time) {
	if len(g.seen) <= 100_000 || now.Sub(g.pruned) < replayPrune {
		return
	}
	g.pruned = now
	for k, v := range g.seen {
		if v.expired(now) {
			delete(g.seen, k)
		}
	}
}

// record hands the signature to the background writer; when its queue is
// full it is dropped (the in-memory check still holds for this process).
func (g *replayGuard) record(sig string) {
	if g.records == nil {
		return
	}
	g.once.Do(func() {
		g.q = make(chan string, replayQueue)
		go g.write()
	})
	select {
	case g.q <- sig:
	default:
	}
}

// replayBatch bounds the signatures recorded in one row.
const replayBatch = 256

// write records the signatures in the background, all those waiting at
// once (up to replayBatch) in one row, so that a burst of commands costs
// the database a few small writes rather than one row each.
func (g *replayGuard) write() {
	batch := make([]string, 0, replayBatch)
	failing := false
	for sig := range g.q {
		batch = gather(g.q, append(batch[:0], sig), replayBatch, replayLinger)
		// Background: a crash of the database server that loses the
		// latest batches reopens, for replays of those requests only, the
		// window the in-memory check of this process still closes.
		ctx, cancel := context.WithTimeout(incident.Background(context.Background()), replayReadTimeout)
		err := g.records.RecordReplayBatch(ctx, incident.ReplayBatch{Instance: g.instance, RecordedAt: g.clock.Now(), Keys: batch})
		cancel()
		switch {
		case err != nil && !failing && g.log != nil:
			// Said once, not for every batch of an outage.
			g.log.Warn("cannot record the request signatures accepted here; other replicas will not refuse their replays", "signatures", len(batch), "err", err)
		case err == nil && failing && g.log != nil:
			g.log.Info("recording the request signatures accepted here again")
		}
		failing = err != nil
	}
}

// gather adds to batch what arrives on q within linger, up to size in all.
func gather(q <-chan string, batch []string, size int, linger time.Duration) []string {
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

// share reads the other processes' batches until ctx ends: first those of
// the last two replayWindows (a signature accepted a window ago can stay
// valid for one more, when it was signed ahead of the clock), then every
// replayPoll those recorded since the last read, less replayOverlap (a
// batch committed late, or recorded on a clock a little behind, is read
// again rather than missed).
func (g *replayGuard) share(ctx context.Context) {
	if g.records == nil {
		return
	}
	since := g.clock.Now().Add(-2 * replayWindow)
	tick := time.NewTicker(replayPoll)
	defer tick.Stop()
	failing := false
	for {
		started := g.clock.Now()
		// A database that hangs holds up one read, not the sharing.
		readCtx, cancel := context.WithTimeout(ctx, cmp.Or(g.readTimeout, replayReadTimeout))
		batches, err := g.records.ReplayBatchesSince(readCtx, since, g.instance)
		cancel()
		switch {
		case err == nil:
			g.learn(batches)
			since = started.Add(-replayOverlap)
			if failing && g.log != nil {
				g.log.Info("reading the request signatures other replicas accepted again")
			}
			failing = false
		case ctx.Err() == nil && !failing:
			// Said once, not every second of an outage; the reads go on.
			failing = true
			if g.log != nil {
				g.log.Warn("cannot read the request signatures other replicas accepted; replays sent to them are not refused here until it can", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// learn remembers the signatures of other processes' batches, so that a
// replay of them is refused here, and tells onReplay of each that this
// process accepted too.
func (g *replayGuard) learn(batches []incident.ReplayBatch) {
	now := g.clock.Now()
	var replayed []string
	// A batch at a time, so that the acknowledgements checked meanwhile
	// wait for one batch at most (a restart reads five minutes' worth).
	for _, b := range batches {
		g.mu.Lock()
		if g.seen == nil {
			g.seen = map[string]seenKey{}
		}
		for _, sig := range b.Keys {
			k, ok := g.seen[sig]
			switch {
			case !ok:
				g.seen[sig] = seenKey{at: now, signed: signedAt(sig)}
			case k.here && !k.replayed:
				k.replayed = true
				g.seen[sig] = k
				replayed = append(replayed, sig)
			}
		}
		g.pruneLocked(now)
		g.mu.Unlock()
	}
	if g.onReplay != nil {
		for _, sig := range replayed {
			g.onReplay(sig)
		}
	}
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

// ShareReplayChecks reads, until ctx ends, the signatures of the requests
// the other processes on the same database accepted, so that a replay of
// one of them is refused here too, and a process that restarted refuses
// replays of what it accepted before. Without Config.Replays it returns at
// once and the replay check is this
// process's own.
func (h *Handler) ShareReplayChecks(ctx context.Context) { h.replay.share(ctx) }

// newInstanceName names this process in the replay records: the host and
// a random suffix, new at every start.
func newInstanceName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "firebreak"
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}
