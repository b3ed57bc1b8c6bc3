package gormstore

import (
	"context"
	"sync"
)

// gate admits a bounded number of transactions to the database at a time,
// foreground ones (incident.Foreground) before background ones. On SQLite it
// admits one, the pool's one connection: without it, database/sql hands the
// connection to a waiter picked at random, so a slash command's declare
// waited behind every job's transaction queued at the time; with it, the
// command waits for the transaction in progress at most. So that a flood of
// commands cannot hold back pages and nags, which are background jobs,
// every foregroundStreak-th place goes to a background waiter if there is
// one.
type gate struct {
	mu         sync.Mutex
	free       int
	streak     int // foreground places given in a row while background waited
	foreground []chan struct{}
	background []chan struct{}
}

// foregroundStreak is how many foreground waiters at most go ahead of a
// waiting background one.
const foregroundStreak = 4

func newGate(n int) *gate { return &gate{free: n} }

// acquire waits for a place, ahead of every background waiter when
// foreground is true, or until ctx ends.
func (g *gate) acquire(ctx context.Context, foreground bool) error {
	g.mu.Lock()
	if g.free > 0 { // then nobody waits: release hands a place to a waiter
		g.free--
		g.mu.Unlock()
		return nil
	}
	ready := make(chan struct{})
	if foreground {
		g.foreground = append(g.foreground, ready)
	} else {
		g.background = append(g.background, ready)
	}
	g.mu.Unlock()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		select {
		case <-ready:
			// Granted as ctx ended: pass the place on.
			g.releaseLocked()
		default:
			g.foreground = remove(g.foreground, ready)
			g.background = remove(g.background, ready)
		}
		return ctx.Err()
	}
}

// release gives the place to the first foreground waiter, or else the first
// background one, or to a background one after a streak of foreground.
func (g *gate) release() {
	g.mu.Lock()
	g.releaseLocked()
	g.mu.Unlock()
}

func (g *gate) releaseLocked() {
	switch {
	case len(g.foreground) > 0 && (len(g.background) == 0 || g.streak < foregroundStreak):
		if len(g.background) > 0 {
			g.streak++
		}
		close(g.foreground[0])
		g.foreground = g.foreground[1:]
	case len(g.background) > 0:
		g.streak = 0
		close(g.background[0])
		g.background = g.background[1:]
	default:
		g.free++
	}
}

func remove(waiters []chan struct{}, ch chan struct{}) []chan struct{} {
	for i, w := range waiters {
		if w == ch {
			return append(waiters[:i], waiters[i+1:]...)
		}
	}
	return waiters
}
