package bot

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// Every command and click asks whether its person is a guest of the
// workspace (incident.Directory's IsGuest), on the way to Slack's 3-second
// answer. The answer comes from memory: the workspace's people, read with
// users.list when the bot starts and every guestListEvery after
// (WatchGuests). Only a person the last read did not see (they joined
// since) costs a users.info call, cached like other lookups. Each replica
// reads the list for itself.

const (
	// guestListEvery is how often the workspace's people are read again:
	// a member made a guest keeps a member's rights in the bot at most
	// this long.
	guestListEvery = 15 * time.Minute
	// guestListRetry is how soon a failed read is tried again.
	guestListRetry = time.Minute
	// guestListMaxAge is how long a read is used while reading again
	// fails; past it, every person is asked about with users.info.
	guestListMaxAge = time.Hour
	// guestListPage is how many people one users.list call asks for.
	guestListPage = 200
	// guestMemory is how long a user's guest status from users.info is
	// still used when Slack cannot be asked again.
	guestMemory = time.Hour
)

// guestList is who the last users.list read found: the guests among the
// workspace's people.
type guestList struct {
	mu     sync.RWMutex
	people map[string]bool // id -> guest
	at     time.Time       // when the read finished; zero: never
}

// lookup answers from the last read, if it is recent enough and saw the
// person.
func (g *guestList) lookup(id string, now time.Time) (guest, ok bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.at.IsZero() || now.Sub(g.at) > guestListMaxAge {
		return false, false
	}
	guest, ok = g.people[id]
	return guest, ok
}

func (g *guestList) set(people map[string]bool, at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.people, g.at = people, at
}

// IsGuest reports whether a user is a guest of the workspace: Slack's
// multi-channel (is_restricted) and single-channel (is_ultra_restricted)
// guests. What is not a user id, and a user Slack does not know, is not a
// guest. The workspace's list answers first; for someone it did not see,
// users.info does, and when that fails an answer up to guestMemory old is
// used.
func (c *chatDirectory) IsGuest(ctx context.Context, userID string) (bool, error) {
	if !isSlackID(userID, "UW") {
		return false, nil
	}
	if guest, ok := c.guests.lookup(userID, c.clock.Now()); ok {
		return guest, nil
	}
	unknown := "users.info-unknown:" + userID
	if _, ok := c.lookupCache.getWithin(unknown, c.clock.Now(), userInfoTTL); ok {
		return false, nil
	}
	u, err := c.userInfo(ctx, userID)
	if slackCode(err) == "user_not_found" {
		c.lookupCache.put(unknown, nil, c.clock.Now())
		return false, nil
	}
	if err != nil {
		if v, ok := c.lookupCache.getWithin("users.info:"+userID, c.clock.Now(), guestMemory); ok {
			return v[factGuest] != "", nil
		}
		return false, err
	}
	return u[factGuest] != "", nil
}

// WatchGuests reads the workspace's people with users.list now and every
// guestListEvery until ctx ends, so that whether someone is a guest is
// answered from memory. A failed read is tried again after guestListRetry;
// a rate-limited page waits for Slack's Retry-After.
func (c *Chat) WatchGuests(ctx context.Context) { c.chatDirectory.watchGuests(ctx) }

func (c *chatDirectory) watchGuests(ctx context.Context) {
	for {
		wait := guestListEvery
		if err := c.readGuests(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.WarnContext(ctx, "could not read the workspace's people to tell its guests; asking Slack person by person meanwhile", "err", err)
			wait = guestListRetry
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// readGuests reads every page of users.list and, when all have come, makes
// them the list IsGuest answers from.
func (c *chatDirectory) readGuests(ctx context.Context) error {
	people := map[string]bool{}
	p := c.api.GetUsersPaginated(slack.GetUsersOptionLimit(guestListPage))
	for {
		callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		next, err := p.Next(callCtx)
		cancel()
		if p.Done(err) {
			break
		}
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(max(rl.RetryAfter, time.Second)):
			}
			continue
		}
		if err != nil {
			return classify("users.list", "read the workspace's people", err)
		}
		for _, u := range next.Users {
			if !u.Deleted {
				people[u.ID] = u.IsRestricted || u.IsUltraRestricted
			}
		}
		p = next
	}
	c.guests.set(people, c.clock.Now())
	return nil
}
