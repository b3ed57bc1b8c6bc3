package incident

import "context"

type foregroundKey struct{}

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
