package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
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

// guestList is who the last users.list read found, the guests among the
// workspace's people, and the changes Slack reported since (user_change,
// team_join), here or at another replica.
type guestList struct {
	mu      sync.RWMutex
	people  map[string]bool // id -> guest
	started time.Time       // when the read began
	at      time.Time       // when the read finished; zero: never
	// reported is the latest standing Slack reported of each person.
	reported map[string]incident.PersonStanding
}

// lookup answers from a change Slack reported after the last read began,
// or else from the last read, if it is recent enough and saw the person.
func (g *guestList) lookup(id string, now time.Time) (guest, ok bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if p, ok := g.reported[id]; ok && p.ChangedAt.After(g.started) && now.Sub(p.ChangedAt) <= guestListMaxAge {
		return p.Guest && !p.Deactivated, true
	}
	if g.at.IsZero() || now.Sub(g.at) > guestListMaxAge {
		return false, false
	}
	guest, ok = g.people[id]
	return guest, ok
}

// known reports whether every replica already holds p, so that recording
// it again would change nothing: a standing recorded in the store since
// this replica's last read of the workspace's people began (lookup follows
// it) the same as p, or, for an ordinary member, no other standing
// recorded and this replica's read saying member too (a profile edit, the
// common user_change). A recorded standing older than the read no longer
// counts here (lookup answers from the read), even when it is p's: the
// person may have changed in between without a word to the bot. A guest
// or a deactivation this replica's own read already shows is recorded
// still: another replica's read may be older than the change.
func (g *guestList) known(p incident.PersonStanding, now time.Time) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if cur, ok := g.reported[p.UserID]; ok && now.Sub(cur.ChangedAt) <= guestListMaxAge {
		if cur.Guest != p.Guest || cur.Deactivated != p.Deactivated {
			return false
		}
		if cur.ChangedAt.After(g.started) {
			return true
		}
	}
	if p.Guest || p.Deactivated || g.at.IsZero() || now.Sub(g.at) > guestListMaxAge {
		return false
	}
	guest, ok := g.people[p.UserID]
	return ok && !guest
}

func (g *guestList) set(people map[string]bool, started, at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.people, g.started, g.at = people, started, at
}

// report keeps a standing Slack reported, unless a later one is kept.
func (g *guestList) report(p incident.PersonStanding) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if cur, ok := g.reported[p.UserID]; ok && cur.ChangedAt.After(p.ChangedAt) {
		return
	}
	if g.reported == nil {
		g.reported = map[string]incident.PersonStanding{}
	}
	g.reported[p.UserID] = p
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
	if c.standings != nil {
		go c.watchStandings(ctx)
	}
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
	started := c.clock.Now()
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
			return classifyIn(ctx, "users.list", "read the workspace's people", err)
		}
		for _, u := range next.Users {
			if !u.Deleted {
				people[u.ID] = u.IsRestricted || u.IsUltraRestricted
			}
		}
		p = next
	}
	c.guests.set(people, started, c.clock.Now())
	return nil
}

const (
	// standingsPoll is how often a replica reads the changes of people's
	// standing the others took from Slack.
	standingsPoll = 5 * time.Second
	// standingsOverlap is how far back each read starts before the last:
	// a change recorded by a replica whose clock is behind, or committed
	// late, is still read. Reading one twice changes nothing.
	standingsOverlap = 2 * time.Minute
)

// PersonChanged applies what Slack reported of a person (a user_change or
// team_join event): whether they are a guest of the workspace, or
// deactivated. A change to their standing is recorded in the store shared
// with the other replicas; a report that changes nothing here (Slack
// reports every profile change) writes nothing.
func (c *Chat) PersonChanged(ctx context.Context, p incident.PersonStanding) error {
	return c.chatDirectory.personChanged(ctx, p)
}

func (c *chatDirectory) personChanged(ctx context.Context, p incident.PersonStanding) error {
	if !isSlackID(p.UserID, "UW") {
		return nil
	}
	now := c.clock.Now()
	if c.guests.known(p, now) {
		return nil
	}
	p.ChangedAt = now
	if c.standings != nil {
		if err := c.standings.RecordStanding(ctx, p); err != nil {
			return fmt.Errorf("record the standing of %s: %w", p.UserID, err)
		}
	}
	c.guests.report(p)
	c.log.InfoContext(ctx, "a person's standing in the workspace changed", "user", p.UserID, "guest", p.Guest, "deactivated", p.Deactivated)
	return nil
}

// readStandings applies the changes of people's standing recorded at or
// after since, and returns where the next read starts.
func (c *chatDirectory) readStandings(ctx context.Context, since time.Time) (time.Time, error) {
	readAt := c.clock.Now()
	ctx, cancel := context.WithTimeout(ctx, standingsPoll)
	defer cancel()
	changes, err := c.standings.StandingsChangedSince(ctx, since)
	if err != nil {
		return since, err
	}
	for _, p := range changes {
		c.guests.report(p)
	}
	return readAt.Add(-standingsOverlap), nil
}

// watchStandings reads, every standingsPoll until ctx ends, the changes of
// people's standing recorded by any replica, and applies them.
func (c *chatDirectory) watchStandings(ctx context.Context) {
	since := c.clock.Now().Add(-guestListMaxAge)
	for {
		next, err := c.readStandings(ctx, since)
		if err != nil && ctx.Err() == nil {
			c.log.WarnContext(ctx, "could not read the changes of people's standing other replicas took from Slack", "err", err)
		}
		since = next
		select {
		case <-ctx.Done():
			return
		case <-time.After(standingsPoll):
		}
	}
}
