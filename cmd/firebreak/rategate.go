package main

import (
	"context"
	"log/slog"

	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// shareRateLimits returns the option that makes an outbound client honour
// the rate limits the other replicas on db received (a provider limits the
// app, not the replica), and a func that stops the sharing and waits for
// it. It returns once the limits in force are read, or after a short wait
// when the database does not answer. On SQLite, one process, the option
// leaves each client on its own gate. See ADR 0052.
func shareRateLimits(ctx context.Context, db *gormstore.DB, log *slog.Logger) (outbound.Option, func()) {
	store := gormstore.NewRateLimits(db)
	if store == nil {
		return outbound.WithSharedLimits(nil), func() {}
	}
	shared := outbound.NewSharedLimits(store, log)
	// It outlives the signal that stops serve: the jobs that drain after it
	// still call the providers. The returned func ends it.
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	wait := shared.Start(ctx)
	return outbound.WithSharedLimits(shared), func() { cancel(); wait() }
}
