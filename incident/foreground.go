package incident

import "context"

type foregroundKey struct{}

type backgroundKey struct{}

// Foreground marks ctx as serving someone who waits for the answer: a
// person's command, click or page view, or a webhook whose sender times the
// reply. When the database is the bottleneck, a store serves foreground
// work before background jobs, so building a hundred war rooms does not
// make the next slash command late.
func Foreground(ctx context.Context) context.Context {
	return context.WithValue(ctx, foregroundKey{}, true)
}

// IsForeground reports whether ctx was marked by Foreground.
func IsForeground(ctx context.Context) bool {
	v, _ := ctx.Value(foregroundKey{}).(bool)
	return v
}

// Background marks ctx as bookkeeping nobody was told is safe: work whose
// latest writes a crash of the database server may lose without harm,
// because whoever made them makes them again. A job's writes are such work
// (IsBackground reports true inside a job without this mark): the job's
// completion is written after them, so a crash that loses them loses the
// completion too, and the job runs again, finding what its earlier run did
// outside. A store may commit background writes without waiting for the
// disk; everything acknowledged to a person or a sender (a declare, a
// stored webhook, a scheduled job) is written before it is acknowledged.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// IsBackground reports whether ctx was marked by Background or runs a job
// (JobID), and was not marked by Foreground: a person waiting on a job's
// answer gets it written as any foreground write.
func IsBackground(ctx context.Context) bool {
	if IsForeground(ctx) {
		return false
	}
	if v, _ := ctx.Value(backgroundKey{}).(bool); v {
		return true
	}
	return JobID(ctx) != 0
}
