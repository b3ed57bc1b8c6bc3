package bot

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/firebreakhq/firebreak/incident"
)

// PeopleService takes what Slack reports of a person's standing in the
// workspace. *Chat is one.
type PeopleService interface {
	PersonChanged(ctx context.Context, p incident.PersonStanding) error
}

// peopleEvents applies Slack's user_change (a member's data changed: made a
// guest, deactivated, or any profile edit) and team_join (a new member or
// guest) events, so that whether someone is a guest follows Slack within
// seconds rather than at the next read of the workspace's people.
type peopleEvents struct{ people PeopleService }

func (p peopleEvents) table() table {
	return table{events: map[string]EventHandler{"user_change": p.onUser, "team_join": p.onUser}}
}

// userEvent is the part of a user_change or team_join envelope read: the
// user object, as users.info gives it.
type userEvent struct {
	Event struct {
		User struct {
			ID                string `json:"id"`
			Deleted           bool   `json:"deleted"`
			IsRestricted      bool   `json:"is_restricted"`
			IsUltraRestricted bool   `json:"is_ultra_restricted"`
		} `json:"user"`
	} `json:"event"`
}

func (p peopleEvents) onUser(ctx context.Context, eventType string, raw []byte) error {
	var ev userEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("decode %s: %w: %w", eventType, err, incident.ErrJobCancel)
	}
	u := ev.Event.User
	if u.ID == "" {
		return nil
	}
	return p.people.PersonChanged(ctx, incident.PersonStanding{UserID: u.ID, Guest: u.IsRestricted || u.IsUltraRestricted, Deactivated: u.Deleted})
}
