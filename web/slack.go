package web

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// nameCache turns Slack user ids into display names for the pages, and
// tells whether an id is an active person of the workspace (for whom an API
// token may act).
type nameCache struct {
	api   *slack.Client
	clock incident.Clock
	ttl   time.Duration

	mu      sync.Mutex
	entries map[string]nameEntry
}

type nameEntry struct {
	name string
	// inactive: Slack does not know the id, or the person is deactivated
	// or a bot.
	inactive bool
	at       time.Time
}

func newNameCache(api *slack.Client, clock incident.Clock, ttl time.Duration) *nameCache {
	return &nameCache{api: api, clock: clock, ttl: ttl, entries: map[string]nameEntry{}}
}

// lookup returns what Slack says of userID, from the cache when it is
// recent. The error is Slack's when it could not be asked.
func (c *nameCache) lookup(ctx context.Context, userID string) (nameEntry, error) {
	now := c.clock.Now()
	c.mu.Lock()
	e, ok := c.entries[userID]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e, nil
	}
	u, err := c.api.GetUserInfoContext(ctx, userID)
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &se) && se.Err == "user_not_found":
		e = nameEntry{name: userID, inactive: true, at: now}
	case err != nil:
		return nameEntry{name: userID}, err
	default:
		e = nameEntry{name: u.RealName, inactive: u.Deleted || u.IsBot, at: now}
		if e.name == "" {
			e.name = u.Profile.DisplayName
		}
		if e.name == "" {
			e.name = u.Name
		}
		if e.name == "" {
			e.name = userID
		}
	}
	c.mu.Lock()
	c.entries[userID] = e
	c.mu.Unlock()
	return e, nil
}

// name returns the person's real or display name, or the id itself when
// Slack does not know it or cannot be reached: a page never fails over a
// name.
func (c *nameCache) name(ctx context.Context, userID string) string {
	if userID == "" || userID == "bot" || (userID[0] != 'U' && userID[0] != 'W') {
		return userID
	}
	e, _ := c.lookup(ctx, userID)
	return e.name
}

// active reports whether userID is a person of the workspace who is not
// deactivated, as Slack said within the cache's time. The error is Slack's
// when it could not be asked.
func (c *nameCache) active(ctx context.Context, userID string) (bool, error) {
	if !slackUserID(userID) {
		return false, nil
	}
	e, err := c.lookup(ctx, userID)
	if err != nil {
		return false, err
	}
	return !e.inactive, nil
}

// names resolves several ids, for a page's people.
func (c *nameCache) names(ctx context.Context, ids ...string) map[string]string {
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			out[id] = c.name(ctx, id)
		}
	}
	return out
}
