package jobs

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultLogRepeatEvery is how often, at most, the same message of River's
// (and the engine's heartbeat failure) is logged again while it repeats.
const DefaultLogRepeatEvery = time.Minute

// repeatHandler passes the first record of each distinct level and message,
// then at most one a period while it repeats, carrying how many were left
// out since the last one logged ("repeated"). During a database outage
// River reports its failed fetch every poll (four a second on the urgent
// queue) and each failed job once more after the engine's own line: the
// first says what is wrong, the rest only bury the other logs. Records
// below minLevel (River's debug chatter, asked for) all pass.
type repeatHandler struct {
	next     slog.Handler
	state    *repeatState
	minLevel slog.Level
}

type repeatState struct {
	mu    sync.Mutex
	every time.Duration
	now   func() time.Time
	seen  map[repeatKey]*repeatCount
}

type repeatKey struct {
	level slog.Level
	msg   string
}

type repeatCount struct {
	logged  time.Time
	skipped int
	// last is the latest record left out, and next the handler it was
	// for: what reports the count when nothing of the kind comes again.
	last slog.Record
	next slog.Handler
}

// repeatsLimited returns log with its repeating messages at Info and above
// limited to one every period.
func repeatsLimited(log *slog.Logger, every time.Duration) *slog.Logger {
	return slog.New(&repeatHandler{next: log.Handler(), minLevel: slog.LevelInfo,
		state: &repeatState{every: every, now: time.Now, seen: map[repeatKey]*repeatCount{}}})
}

func (h *repeatHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *repeatHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.minLevel {
		return h.next.Handle(ctx, r)
	}
	key := repeatKey{r.Level, r.Message}
	skipped, ok := h.state.admit(key, r, h.next)
	// The counts of other messages that stopped repeating are said now,
	// not only if they come back.
	h.state.flush(ctx, false, key)
	if !ok {
		return nil
	}
	if skipped > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("repeated", skipped))
	}
	return h.next.Handle(ctx, r)
}

// flush logs, for each message left out since it was last logged, its
// latest record with how many were left out: all of them, or those whose
// period is over, but for the message except.
func (s *repeatState) flush(ctx context.Context, all bool, except repeatKey) {
	type due struct {
		rec  slog.Record
		next slog.Handler
	}
	var out []due
	s.mu.Lock()
	now := s.now()
	for k, c := range s.seen {
		if c.skipped == 0 || k == except || (!all && now.Sub(c.logged) < s.every) {
			continue
		}
		rec := c.last.Clone()
		rec.AddAttrs(slog.Int("repeated", c.skipped))
		out = append(out, due{rec, c.next})
		c.logged, c.skipped, c.last, c.next = now, 0, slog.Record{}, nil
	}
	s.mu.Unlock()
	for _, d := range out {
		_ = d.next.Handle(ctx, d.rec)
	}
}

// flushRepeats logs what log, from repeatsLimited, left out and has not yet
// said: at the engine's stop, so an outage's last minute is counted too.
func flushRepeats(ctx context.Context, log *slog.Logger) {
	if h, ok := log.Handler().(*repeatHandler); ok {
		h.state.flush(ctx, true, repeatKey{})
	}
}

// admit reports whether r, a record of key, is logged now, and how many of
// it were left out since the last one logged; one left out is kept, with
// next, its handler, for flush.
func (s *repeatState) admit(key repeatKey, r slog.Record, next slog.Handler) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	c := s.seen[key]
	if c == nil {
		// Forget messages that stopped repeating, so the map stays small.
		for k, old := range s.seen {
			if now.Sub(old.logged) >= s.every && old.skipped == 0 {
				delete(s.seen, k)
			}
		}
		s.seen[key] = &repeatCount{logged: now}
		return 0, true
	}
	if now.Sub(c.logged) < s.every {
		c.skipped++
		c.last, c.next = r.Clone(), next
		return 0, false
	}
	skipped := c.skipped
	c.logged, c.skipped, c.last, c.next = now, 0, slog.Record{}, nil
	return skipped, true
}

func (h *repeatHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &repeatHandler{next: h.next.WithAttrs(attrs), state: h.state, minLevel: h.minLevel}
}

func (h *repeatHandler) WithGroup(name string) slog.Handler {
	return &repeatHandler{next: h.next.WithGroup(name), state: h.state, minLevel: h.minLevel}
}
