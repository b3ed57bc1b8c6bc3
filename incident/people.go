package incident

import (
	"context"
	"time"
)

// PersonStanding is a workspace member's standing as the chat last
// reported it: a guest of the workspace (Slack's multi- and single-channel
// guests) or deactivated. The transport keeps the changes the chat reports
// as they happen (Slack's user_change and team_join events), so that every
// replica applies a member made a guest within seconds, not at its next
// read of the workspace's people.
type PersonStanding struct {
	UserID      string
	Guest       bool
	Deactivated bool
	// ChangedAt is when the change was recorded.
	ChangedAt time.Time
}

// PeopleStore keeps the standings the chat reported, the latest per
// person.
type PeopleStore interface {
	// RecordStanding stores p as the person's standing, replacing the one
	// stored; a zero ChangedAt becomes the store's clock's now. An empty
	// UserID is EINVALID.
	RecordStanding(ctx context.Context, p PersonStanding) error
	// StandingsChangedSince returns the standings recorded at or after
	// since, oldest first.
	StandingsChangedSince(ctx context.Context, since time.Time) ([]PersonStanding, error)
}
