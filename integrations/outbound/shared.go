package outbound

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// RateLimitStore keeps the rate limits that the processes calling the same
// providers with the same credentials received, and tells each process of
// the others'. incident/gormstore's RateLimits is one, on PostgreSQL.
type RateLimitStore interface {
	// RecordRateLimit keeps that provider closed key until until, and tells
	// every listening process.
	RecordRateLimit(ctx context.Context, provider, key string, until time.Time) error
	// ListenRateLimits calls apply with every rate limit still in force,
	// then listening, then apply with each one recorded later, until ctx
	// ends or the connection fails; it returns why it stopped.
	ListenRateLimits(ctx context.Context, apply func(provider, key string, until time.Time), listening func()) error
}

// Sharing defaults.
const (
	// shareQueue bounds the rate limits waiting to be recorded; more are
	// dropped, since this process's own gate already holds them.
	shareQueue = 256
	// shareWriteTimeout bounds one write to the store.
	shareWriteTimeout = 5 * time.Second
	// shareStartWait bounds how long Start waits for the limits in force.
	shareStartWait = 2 * time.Second
	// shareRetryMin and shareRetryMax bound the wait before listening again
	// after the store failed.
	shareRetryMin = time.Second
	shareRetryMax = 30 * time.Second
)

// SharedLimits makes every Client given WithSharedLimits honour the rate
// limits that the other processes on the same RateLimitStore received, and
// tells them of its own: a provider limits an app (a Slack app per
// workspace, a token), not a process.
//
// It never delays a request: a Client reads its gate in memory, a 429 is
// queued for the store without waiting (and dropped when the queue is
// full), and the store is written and listened to in the background. A
// process that cannot reach the store keeps its own gate, as it would
// alone. Another process learns of a 429 once the store has told it (a
// few milliseconds on PostgreSQL); a call it starts meanwhile still goes
// out.
type SharedLimits struct {
	store RateLimitStore
	log   *slog.Logger
	now   func() time.Time
	queue chan sharedLimit
	// dropping is set while the queue is full, so a burst of 429s logs
	// once.
	dropping atomic.Bool

	mu      sync.Mutex
	clients map[string][]*Client
	// known is every limit in force heard of, by provider and key, for a
	// Client added after it was heard.
	known map[[2]string]time.Time
	// learnt is called after a limit from the store is applied; tests
	// time the propagation with it.
	learnt func(provider, key string, until time.Time)
}

// sharedLimit is one rate limit on its way to the store.
type sharedLimit struct {
	provider, key string
	until         time.Time
}

// NewSharedLimits returns the sharing over store; call Start to run it. A
// nil log discards.
func NewSharedLimits(store RateLimitStore, log *slog.Logger) *SharedLimits {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &SharedLimits{store: store, log: log, now: time.Now, queue: make(chan sharedLimit, shareQueue),
		clients: map[string][]*Client{}, known: map[[2]string]time.Time{}}
}

// WithSharedLimits makes the Client honour the rate limits of s and share
// its own. A nil s leaves the Client on its own gate.
func WithSharedLimits(s *SharedLimits) Option {
	return func(c *Client) { c.shared = s }
}

// add makes s apply the limits of c's provider to c, those in force
// included.
func (s *SharedLimits) add(c *Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.p.Provider] = append(s.clients[c.p.Provider], c)
	now := s.now()
	for k, until := range s.known {
		if k[0] == c.p.Provider && until.After(now) {
			c.gate.close(k[1], until)
		}
	}
}

// publish queues a rate limit c received for the store, without waiting.
func (s *SharedLimits) publish(provider, key string, until time.Time) {
	if s == nil {
		return
	}
	select {
	case s.queue <- sharedLimit{provider: provider, key: key, until: until}:
		s.dropping.Store(false)
	default:
		if !s.dropping.Swap(true) {
			s.log.Warn("outbound rate limits not shared while the queue is full (the database is slow or down)",
				slog.String("provider", provider), slog.String("key", key))
		}
	}
}

// apply closes the gate of every client of provider on key until until.
func (s *SharedLimits) apply(provider, key string, until time.Time) {
	now := s.now()
	s.mu.Lock()
	clients := s.clients[provider]
	learnt := s.learnt
	for k, u := range s.known {
		if !u.After(now) {
			delete(s.known, k)
		}
	}
	if k := [2]string{provider, key}; until.After(now) && until.After(s.known[k]) {
		s.known[k] = until
	}
	s.mu.Unlock()
	if until.After(now) {
		for _, c := range clients {
			c.gate.close(key, until)
		}
	}
	if learnt != nil {
		learnt(provider, key, until)
	}
}

// Start writes and listens in the background until ctx ends, and returns
// once the limits in force have been read, or after a short wait when the
// store does not answer, so that a process starting inside another's
// Retry-After honours it from its first call. The returned func waits for
// the background work to end after ctx ends.
func (s *SharedLimits) Start(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	ready := make(chan struct{})
	wg.Go(func() { s.write(ctx) })
	wg.Go(func() { s.listen(ctx, ready) })
	t := time.NewTimer(shareStartWait)
	defer t.Stop()
	select {
	case <-ready:
	case <-t.C:
		s.log.Warn("outbound rate limits of the other replicas not read yet; starting without them")
	case <-ctx.Done():
	}
	return wg.Wait
}

// write records the queued limits, the latest of each key at once; after
// a failed write it drops the rest of the batch rather than wait on each.
func (s *SharedLimits) write(ctx context.Context) {
	failing := false
	for {
		var first sharedLimit
		select {
		case <-ctx.Done():
			return
		case first = <-s.queue:
		}
		batch := map[[2]string]time.Time{{first.provider, first.key}: first.until}
	drain:
		for {
			select {
			case l := <-s.queue:
				k := [2]string{l.provider, l.key}
				if l.until.After(batch[k]) {
					batch[k] = l.until
				}
			default:
				break drain
			}
		}
		for k, until := range batch {
			wctx, cancel := context.WithTimeout(ctx, shareWriteTimeout)
			err := s.store.RecordRateLimit(wctx, k[0], k[1], until)
			cancel()
			if err != nil && ctx.Err() == nil && !failing {
				s.log.Warn("outbound rate limit not shared with the other replicas",
					slog.String("provider", k[0]), slog.String("key", k[1]), slog.String("error", err.Error()))
			}
			if failing && err == nil {
				s.log.Info("outbound rate limits shared with the other replicas again")
			}
			failing = err != nil
			if failing {
				break // the rest of the batch would wait as long; the gates here hold it
			}
		}
	}
}

// listen applies the store's limits, listening again after a failure
// with a growing wait. ready is closed once the limits in force are read.
func (s *SharedLimits) listen(ctx context.Context, ready chan<- struct{}) {
	var once sync.Once
	markReady := func() { once.Do(func() { close(ready) }) }
	backoff := shareRetryMin
	for {
		began := s.now()
		err := s.store.ListenRateLimits(ctx, s.apply, func() {
			markReady()
			if backoff > shareRetryMin {
				s.log.Info("outbound rate limits of the other replicas heard again")
			}
		})
		if ctx.Err() != nil {
			return
		}
		markReady()
		if s.now().Sub(began) > shareRetryMax {
			backoff = shareRetryMin
		}
		s.log.Warn("outbound rate limits of the other replicas not heard; listening again",
			slog.Duration("in", backoff), slog.String("error", errString(err)))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, shareRetryMax)
	}
}

func errString(err error) string {
	if err == nil {
		return "stopped"
	}
	return err.Error()
}
