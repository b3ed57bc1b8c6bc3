package web

import (
	"context"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// nameCache turns Slack user ids into display names for the pages.
type nameCache struct {
	api   *slack.Client
	clock incident.Clock
	ttl   time.Duration

	mu      sync.Mutex
	entries map[string]nameEntry
}

type nameEntry struct {
	name string
	at   time.Time
}

func newNameCache(api *slack.Client, clock incident.Clock, ttl time.Duration) *nameCache {
	return &nameCache{api: api, clock: clock, ttl: ttl, entries: map[string]nameEntry{}}
}

// name returns the person's real or display name, or the id itself when
// Slack does not know it or cannot be reached: a page never fails over a
// name.
func (c *nameCache) name(ctx context.Context, userID string) string {
	if userID == "" || userID == "bot" || (userID[0] != 'U' && userID[0] != 'W') {
		return userID
	}
	now := c.clock.Now()
	c.mu.Lock()
	e, ok := c.entries[userID]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e.name
	}
	u, err := c.api.GetUserInfoContext(ctx, userID)
	if err != nil {
		return userID
	}
	name := u.RealName
	if name == "" {
		name = u.Profile.DisplayName
	}
	if name == "" {
		name = u.Name
	}
	if name == "" {
		name = userID
	}
	c.mu.Lock()
	c.entries[userID] = nameEntry{name: name, at: now}
	c.mu.Unlock()
	return name
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
