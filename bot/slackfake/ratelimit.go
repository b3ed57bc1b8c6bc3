package slackfake

import (
	"sync"
	"time"
)

// Tier limits in calls per minute per workspace, from Slack's rate-limit
// tiers (Tier 1: 1+, Tier 2: 20+, Tier 3: 50+, Tier 4: 100+ per minute).
const (
	Tier1 = 1
	Tier2 = 20
	Tier3 = 50
	Tier4 = 100
)

// MethodTiers maps the Web API methods the fake serves to their tier's
// per-minute limit, as Slack's method pages list them. chat.postMessage is
// "special": about one message per second per channel, with bursts
// allowed; the fake enforces 1 per second per channel over a one-minute
// window (60 per minute per channel).
var MethodTiers = map[string]int{
	"auth.test": Tier4, "apps.connections.open": Tier1,
	"conversations.create": Tier2, "conversations.setTopic": Tier2, "conversations.setPurpose": Tier2,
	"conversations.archive": Tier2, "conversations.invite": Tier3, "conversations.kick": Tier3,
	"conversations.info": Tier3, "conversations.list": Tier2, "conversations.members": Tier4,
	"conversations.join": Tier3, "conversations.open": Tier3,
	"conversations.history": Tier3, "conversations.replies": Tier3,
	"pins.add": Tier2, "pins.list": Tier2, "bookmarks.add": Tier2, "bookmarks.list": Tier3,
	"reactions.add": Tier3, "chat.update": Tier3, "chat.delete": Tier3, "chat.getPermalink": Tier4,
	"chat.postEphemeral": Tier4, "users.info": Tier4, "users.lookupByEmail": Tier3, "users.conversations": Tier3, "users.list": Tier2,
	"usergroups.list": Tier2, "usergroups.users.list": Tier2,
	"views.open": Tier4, "views.push": Tier4, "views.update": Tier4,
	"openid.connect.token": Tier4, "openid.connect.userInfo": Tier3,
}

// WithRateLimits makes the fake enforce Slack's per-method tier limits over
// a sliding one-minute window, answering 429 with the Retry-After that
// frees a slot. Off by default, since most tests are about something else.
func WithRateLimits() Option { return func(c *config) { c.rateLimits = true } }

// limiter counts calls per key (method, or method+channel) in the last
// minute.
type limiter struct {
	mu    sync.Mutex
	calls map[string][]time.Time
	// until is when each key's last Retry-After ends, and told when the
	// 429 that set it was answered; a call before then is premature: the
	// client did not wait as it was told.
	until     map[string]time.Time
	told      map[string]time.Time
	premature map[string]int
}

// inFlightGrace is how soon after a 429 a call on the same key may arrive
// without being premature: it was on its way before the client could know.
const inFlightGrace = 100 * time.Millisecond

// retryAfterSecs is the whole seconds the fake puts in Retry-After for a
// wait, as Slack does.
func retryAfterSecs(wait time.Duration) int {
	return int(max(wait, time.Second).Round(time.Second) / time.Second)
}

// limit applies key's limit and remembers the Retry-After it answers with.
func (l *limiter) limit(key string, limit int, now time.Time) time.Duration {
	l.mu.Lock()
	if l.until == nil {
		l.until, l.told, l.premature = map[string]time.Time{}, map[string]time.Time{}, map[string]int{}
	}
	if now.Before(l.until[key]) && now.After(l.told[key].Add(inFlightGrace)) {
		l.premature[key]++
	}
	l.mu.Unlock()
	wait := l.take(key, limit, now)
	if wait > 0 {
		l.mu.Lock()
		l.until[key] = now.Add(time.Duration(retryAfterSecs(wait)) * time.Second)
		l.told[key] = now
		l.mu.Unlock()
	}
	return wait
}

// PrematureCalls returns, per method (chat.postMessage per "method/channel"),
// how many calls arrived before the Retry-After of the fake's last 429 for
// it had elapsed, leaving out those arriving within 100 ms of the 429 (sent
// before the client could have read it). Only calls under WithRateLimits are
// counted.
func (s *faultInjector) PrematureCalls() map[string]int {
	s.limits.mu.Lock()
	defer s.limits.mu.Unlock()
	out := make(map[string]int, len(s.limits.premature))
	for k, v := range s.limits.premature {
		out[k] = v
	}
	return out
}

// take records a call at now and returns zero, or how long until a slot
// frees when the key is over its limit.
func (l *limiter) take(key string, limit int, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.calls == nil {
		l.calls = map[string][]time.Time{}
	}
	window := now.Add(-time.Minute)
	kept := l.calls[key][:0]
	for _, t := range l.calls[key] {
		if t.After(window) {
			kept = append(kept, t)
		}
	}
	if len(kept) >= limit {
		l.calls[key] = kept
		return kept[0].Sub(window)
	}
	l.calls[key] = append(kept, now)
	return 0
}

// rateLimited applies the tier limits to a call; a zero result lets it
// through.
func (s *faultInjector) rateLimited(method string, channel string, now time.Time) time.Duration {
	if !s.tiers {
		return 0
	}
	if method == "chat.postMessage" {
		return s.limits.limit(method+"/"+channel, 60, now)
	}
	limit, ok := MethodTiers[method]
	if !ok {
		return 0
	}
	return s.limits.limit(method, limit, now)
}
