package web

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

const (
	// nameTTL is how long Slack's answer about a person is kept.
	nameTTL = 10 * time.Minute
	// refusalTTL is how long a users.info call Slack refused or failed
	// (a 429, a 5xx, no answer) is kept before that person is asked
	// about again: long enough that busy pages do not spend the method's
	// Tier 4 budget (about 100 calls a minute) asking again and again,
	// short enough that a name shows soon after Slack is back.
	refusalTTL = 30 * time.Second
	// nameLookups bounds the users.info calls one page makes at once.
	nameLookups = 8
	// nameBudget is what a page gives Slack to name its people, well
	// inside DefaultRequestTimeout: a person not named by then is shown
	// by id, and the rest of the page is not held back for names.
	nameBudget = 2 * time.Second
	// checkBudget is what a check of one person (a session's, an API
	// token's, a commander named through the API) gives Slack: one
	// users.info call, answered in a fraction of it when Slack is well.
	checkBudget = time.Second
	// askLaterBudget bounds a users.info call made in the background while
	// Slack is not answering, and askLaterMax how many run at once.
	askLaterBudget = 5 * time.Second
	askLaterMax    = nameLookups
)

// nameCache turns Slack user ids into display names for the pages, and
// tells whether an id is an active person of the workspace (for whom an API
// token may act).
type nameCache struct {
	api    *slack.Client
	clock  incident.Clock
	ttl    time.Duration
	budget time.Duration

	mu      sync.Mutex
	entries map[string]nameEntry
	// quietUntil is when Slack's last 429 for users.info ends: no call is
	// made before then, as Slack's Retry-After asks.
	quietUntil time.Time
	// silentUntil is set when a users.info call ran out of time without
	// an answer: until then, or until Slack answers again, nobody waits
	// for Slack. A person not known is asked about in the background
	// (asking, at most askLaterMax at once) and shown by id meanwhile, so
	// a Slack that hangs costs one page its budget, not every page.
	silentUntil time.Time
	asking      map[string]bool
}

type nameEntry struct {
	name string
	// team is the person's workspace, as Slack said.
	team string
	// inactive: Slack does not know the id, or the person is deactivated
	// or a bot.
	inactive bool
	// err is Slack's refusal or failure, kept until until as the answer.
	err   error
	until time.Time
}

func newNameCache(api *slack.Client, clock incident.Clock, ttl time.Duration) *nameCache {
	return &nameCache{api: api, clock: clock, ttl: ttl, budget: nameBudget, entries: map[string]nameEntry{}, asking: map[string]bool{}}
}

// errNamesRateLimited stands for Slack's 429 to users.info while its
// Retry-After lasts.
var errNamesRateLimited = errors.New("slack users.info is rate limited")

// errSlackSilent stands for a Slack whose last users.info call ran out of
// time unanswered, while nobody waits for it.
var errSlackSilent = errors.New("slack users.info did not answer a recent call; not waiting for it")

// cached returns the kept answer about userID while it lasts.
func (c *nameCache) cached(userID string, now time.Time) (nameEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[userID]; ok && now.Before(e.until) {
		return e, true
	}
	if now.Before(c.quietUntil) {
		return nameEntry{name: userID, err: errNamesRateLimited, until: c.quietUntil}, true
	}
	return nameEntry{}, false
}

// lookup returns what Slack says of userID, from the cache when it is
// recent. The error is Slack's when it could not be asked, or its recent
// refusal, or errSlackSilent; a call cut short by ctx is not kept.
func (c *nameCache) lookup(ctx context.Context, userID string) (nameEntry, error) {
	now := c.clock.Now()
	if e, ok := c.cached(userID, now); ok {
		return e, e.err
	}
	if err := ctx.Err(); err != nil {
		return nameEntry{name: userID}, err
	}
	if c.silent(now) {
		c.askLater(userID)
		return nameEntry{name: userID}, errSlackSilent
	}
	return c.ask(ctx, userID, now)
}

// silent reports whether Slack let a recent users.info call run out of
// time and has not answered one since.
func (c *nameCache) silent(now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return now.Before(c.silentUntil)
}

// askLater asks Slack about userID in the background, within
// askLaterBudget, unless it is being asked about already or askLaterMax
// calls are in flight: the answer is kept for the next view.
func (c *nameCache) askLater(userID string) {
	c.mu.Lock()
	if c.asking[userID] || len(c.asking) >= askLaterMax {
		c.mu.Unlock()
		return
	}
	c.asking[userID] = true
	c.mu.Unlock()
	go func() {
		defer func() {
			c.mu.Lock()
			delete(c.asking, userID)
			c.mu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(context.Background(), askLaterBudget)
		defer cancel()
		_, _ = c.ask(ctx, userID, c.clock.Now())
	}()
}

// ask calls users.info and keeps what Slack said (or refused).
func (c *nameCache) ask(ctx context.Context, userID string, now time.Time) (nameEntry, error) {
	u, err := c.api.GetUserInfoContext(ctx, userID)
	var se slack.SlackErrorResponse
	var e nameEntry
	switch {
	case errors.As(err, &se) && se.Err == "user_not_found":
		e = nameEntry{name: userID, inactive: true, until: now.Add(c.ttl)}
	case err != nil && ctx.Err() != nil:
		// The time ran out: nothing is learnt of the person, and when it
		// was the time Slack was given (not a caller that left), Slack is
		// not waited for again for a while.
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			c.mu.Lock()
			if q := now.Add(refusalTTL); q.After(c.silentUntil) {
				c.silentUntil = q
			}
			c.mu.Unlock()
		}
		return nameEntry{name: userID}, err
	case err != nil:
		e = nameEntry{name: userID, err: err, until: now.Add(refusalTTL)}
		if wait, ok := retryAfter(err); ok {
			c.mu.Lock()
			if q := now.Add(wait); q.After(c.quietUntil) {
				c.quietUntil = q
			}
			c.mu.Unlock()
			e.until = now.Add(max(wait, refusalTTL))
		}
	default:
		// Slackbot is no bot to Slack (is_bot false), and no person.
		e = nameEntry{name: displayName(u, userID), team: u.TeamID, inactive: u.Deleted || u.IsBot || userID == "USLACKBOT", until: now.Add(c.ttl)}
	}
	_, limited := retryAfter(err)
	c.mu.Lock()
	c.entries[userID] = e
	if err == nil || limited || errors.As(err, &se) {
		c.silentUntil = time.Time{} // Slack answers again
	}
	c.mu.Unlock()
	return e, e.err
}

// displayName is the person's real name, else display name, else handle,
// else id.
func displayName(u *slack.User, userID string) string {
	for _, n := range []string{u.RealName, u.Profile.DisplayName, u.Name} {
		if n != "" {
			return n
		}
	}
	return userID
}

// retryAfter reads the wait a rate-limited call was told: slack-go's
// RateLimitedError, or any error that says it (the outbound client's).
func retryAfter(err error) (time.Duration, bool) {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return rl.RetryAfter, true
	}
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return ra.RetryAfter(), true
	}
	return 0, false
}

// person reports whether userID is one Slack can name: a user id, not a
// bot's mark or an empty actor.
func person(userID string) bool {
	return userID != "" && userID != "bot" && (userID[0] == 'U' || userID[0] == 'W')
}

// active reports whether userID is a person of the workspace who is not
// deactivated, as Slack said within the cache's time. The error is Slack's
// when it could not be asked.
func (c *nameCache) active(ctx context.Context, userID string) (bool, error) {
	if !slackUserID(userID) {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, checkBudget)
	defer cancel()
	e, err := c.lookup(ctx, userID)
	if err != nil {
		return false, err
	}
	return !e.inactive, nil
}

// colleague reports whether userID is an active person of the workspace of
// the person whose id is of: not of another workspace (a shared channel's
// guest from another organisation), as Slack said within the cache's time.
func (c *nameCache) colleague(ctx context.Context, userID, of string) (bool, error) {
	if !slackUserID(userID) {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, checkBudget)
	defer cancel()
	them, err := c.lookup(ctx, userID)
	if err != nil || them.inactive {
		return false, err
	}
	us, err := c.lookup(ctx, of)
	if err != nil {
		return false, err
	}
	return them.team == "" || us.team == "" || them.team == us.team, nil
}

// names resolves several ids, for a page's people: those not cached are
// asked of Slack nameLookups at a time, within the cache's budget (and
// ctx). Whoever is not named by then, or whom Slack refused, is shown by
// id; a later view names them.
func (c *nameCache) names(ctx context.Context, ids ...string) map[string]string {
	out := make(map[string]string, len(ids))
	now := c.clock.Now()
	var todo []string
	for _, id := range ids {
		if _, ok := out[id]; ok {
			continue
		}
		out[id] = id
		if !person(id) {
			continue
		}
		if e, ok := c.cached(id, now); ok {
			out[id] = e.name
			continue
		}
		todo = append(todo, id)
	}
	if len(todo) == 0 {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, c.budget)
	defer cancel()
	var mu sync.Mutex
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(nameLookups, len(todo)) {
		wg.Go(func() {
			for id := range work {
				if e, err := c.lookup(ctx, id); err == nil {
					mu.Lock()
					out[id] = e.name
					mu.Unlock()
				}
			}
		})
	}
feed:
	for _, id := range todo {
		select {
		case work <- id:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	return out
}
