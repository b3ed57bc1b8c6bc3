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
	"chat.postEphemeral": Tier4, "users.info": Tier4, "users.lookupByEmail": Tier3,
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
func (s *Server) rateLimited(method string, channel string, now time.Time) time.Duration {
	if !s.cfg.rateLimits {
		return 0
	}
	if method == "chat.postMessage" {
		return s.limits.take(method+"/"+channel, 60, now)
	}
	limit, ok := MethodTiers[method]
	if !ok {
		return 0
	}
	return s.limits.take(method, limit, now)
}
