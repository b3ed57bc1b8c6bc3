package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// chatDirectory finds people in Slack: who a responder reference names, a
// user's e-mail and name (incident.Directory).
type chatDirectory struct{ *slackConn }

// refKind is what a responder reference names.
type refKind int

const (
	refInvalid refKind = iota
	refUser
	refGroup
	refEmail
)

// parseUserRef reads a responder reference: a user id (U..., W...), a
// user-group id (S...), an e-mail address, or Slack's escaped forms of them
// as they arrive in message text ("<@U123|alice>", "<!subteam^S123|@sre>",
// "<mailto:a@example.com|a@example.com>").
func parseUserRef(ref string) (refKind, string) {
	r := strings.TrimSpace(ref)
	if inner, ok := strings.CutPrefix(r, "<"); ok {
		inner, ok = strings.CutSuffix(inner, ">")
		if !ok {
			return refInvalid, ""
		}
		inner, _, _ = strings.Cut(inner, "|")
		switch {
		case strings.HasPrefix(inner, "@"):
			if id := inner[1:]; isSlackID(id, "UW") {
				return refUser, id
			}
		case strings.HasPrefix(inner, "!subteam^"):
			if id := strings.TrimPrefix(inner, "!subteam^"); isSlackID(id, "S") {
				return refGroup, id
			}
		case strings.HasPrefix(inner, "mailto:"):
			if addr := strings.TrimPrefix(inner, "mailto:"); isEmail(addr) {
				return refEmail, addr
			}
		}
		return refInvalid, ""
	}
	switch {
	case isSlackID(r, "UW"):
		return refUser, r
	case isSlackID(r, "S"):
		return refGroup, r
	case isEmail(r):
		return refEmail, r
	}
	return refInvalid, ""
}

// isSlackID reports whether s looks like a Slack id starting with one of
// prefixes: an upper-case letter followed by upper-case letters and digits.
func isSlackID(s, prefixes string) bool {
	if len(s) < 3 || !strings.ContainsRune(prefixes, rune(s[0])) {
		return false
	}
	for _, r := range s[1:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func isEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && strings.Contains(s[at+1:], ".") && !strings.ContainsAny(s, " <>|")
}

// ResolveUsers turns user ids, user-group ids and e-mail addresses (plain or
// in Slack's mention syntax) into user ids, in the order given, without
// duplicates and without the bot itself. Group and e-mail lookups run
// concurrently, at most WithLookupConcurrency at a time. References that
// match nobody (an unknown e-mail, a missing or empty group, a malformed
// reference) come back in missing. Each lookup stands on its own: when some
// fail, the others' ids and missing references are returned with an
// *incident.UnresolvedError naming the references that failed and why.
func (c *chatDirectory) ResolveUsers(ctx context.Context, refs []string) (userIDs, missing []string, err error) {
	botID, err := c.botID(ctx)
	if err != nil {
		return nil, nil, err
	}
	// Two spellings of one group or address ("S123", "<!subteam^S123>")
	// share one lookup.
	refs = incident.Dedupe(refs)
	lookups := map[string]*refLookup{}
	keys := make([]string, len(refs))
	for i, ref := range refs {
		kind, v := parseUserRef(ref)
		keys[i] = fmt.Sprintf("%d:%s", kind, v)
		if _, ok := lookups[keys[i]]; !ok {
			lookups[keys[i]] = &refLookup{kind: kind, value: v}
		}
	}
	c.lookupAll(ctx, lookups)

	var unresolved incident.UnresolvedError
	seen := map[string]bool{botID: true}
	for i, ref := range refs {
		l := lookups[keys[i]]
		if l.err != nil {
			if !l.told {
				l.told = true
				unresolved.Failed = append(unresolved.Failed, incident.LookupFailure{Ref: ref, Err: l.err})
			}
			continue
		}
		if len(l.ids) == 0 {
			missing = append(missing, ref)
			continue
		}
		for _, id := range l.ids {
			if !seen[id] {
				seen[id] = true
				userIDs = append(userIDs, id)
			}
		}
	}
	if len(unresolved.Failed) > 0 {
		return userIDs, missing, &unresolved
	}
	return userIDs, missing, nil
}

// refLookup is one reference to resolve, the user ids it names, and why
// its lookup failed.
type refLookup struct {
	kind  refKind
	value string
	ids   []string
	err   error
	// told: the failure is already among those returned.
	told bool
}

// lookupAll fills in the ids, or the failure, of every lookup: a user id
// names itself, and groups and e-mail addresses are looked up
// concurrently, at most c.lookups at a time. A failure stops only its own
// lookup.
func (c *chatDirectory) lookupAll(ctx context.Context, lookups map[string]*refLookup) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, c.lookups)
	for _, l := range lookups {
		switch l.kind {
		case refInvalid:
			continue
		case refUser:
			l.ids = []string{l.value}
			continue
		}
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				l.err = classifyIn(ctx, "usergroups.users.list", "look up the responders", ctx.Err())
				return
			}
			l.ids, l.err = c.lookupRef(ctx, l.kind, l.value)
		})
	}
	wg.Wait()
}

// lookupRef resolves a user group or an e-mail address; no ids and no error
// means it matches nobody.
func (c *chatDirectory) lookupRef(ctx context.Context, kind refKind, v string) ([]string, error) {
	key := fmt.Sprint(kind, ":", v)
	if ids, ok := c.lookupCache.get(key, c.clock.Now()); ok {
		return ids, nil
	}
	ids, err := c.lookupRefUncached(ctx, kind, v)
	if err == nil {
		c.lookupCache.put(key, ids, c.clock.Now())
	}
	return ids, err
}

func (c *chatDirectory) lookupRefUncached(ctx context.Context, kind refKind, v string) ([]string, error) {
	if kind == refGroup {
		ids, err := c.api.GetUserGroupMembersContext(ctx, v)
		switch slackCode(err) {
		case "no_such_subteam", "subteam_not_found":
			return nil, nil
		}
		if err != nil {
			return nil, classifyIn(ctx, "usergroups.users.list", "list the members of user group "+v, err)
		}
		return ids, nil
	}
	u, err := c.api.GetUserByEmailContext(ctx, v)
	if slackCode(err) == "users_not_found" {
		return nil, nil
	}
	if err != nil {
		// The address stays out of the message: it is personal data.
		return nil, classifyIn(ctx, "users.lookupByEmail", "look up a responder by e-mail", err)
	}
	if u.Deleted {
		return nil, nil
	}
	return []string{u.ID}, nil
}

// UserEmail returns a user's e-mail address from users.info.
func (c *chatDirectory) UserEmail(ctx context.Context, userID string) (string, error) {
	u, err := c.userInfo(ctx, userID)
	if err != nil {
		return "", err
	}
	return u[0], nil
}

// userInfoTTL is how long what users.info said of a person is reused: their
// names, and whether they are a guest, which every command asks. A member
// made a guest keeps a member's rights in the bot at most this long.
const userInfoTTL = 10 * time.Minute

// userInfo returns a user's e-mail, name candidates and guest status from
// users.info, cached for userInfoTTL.
func (c *chatDirectory) userInfo(ctx context.Context, userID string) ([]string, error) {
	key := "users.info:" + userID
	if v, ok := c.lookupCache.getWithin(key, c.clock.Now(), userInfoTTL); ok {
		return v, nil
	}
	u, err := c.api.GetUserInfoContext(ctx, userID)
	if err != nil {
		return nil, classifyIn(ctx, "users.info", "look up the user", err)
	}
	v := userFacts(u)
	c.lookupCache.put(key, v, c.clock.Now())
	return v, nil
}

// userFacts is a user's e-mail address, then the names UserName tries in
// turn, then whether they are a guest (factGuest), deactivated
// (factDeactivated) and an app (factApp).
func userFacts(u *slack.User) []string {
	flag := func(set bool, name string) string {
		if set {
			return name
		}
		return ""
	}
	return []string{u.Profile.Email, u.Profile.DisplayName, u.RealName, u.Profile.RealName, u.Name,
		flag(u.IsRestricted || u.IsUltraRestricted, "guest"), flag(u.Deleted, "deactivated"),
		flag(u.IsBot || u.ID == "USLACKBOT", "app")}
}

// Where userFacts says whether the user is a guest, deactivated, an app.
const (
	factGuest       = 5
	factDeactivated = 6
	factApp         = 7
)

// personState is what Slack's directory says of a user id.
type personState int

const (
	personActive personState = iota
	personUnknown
	personDeactivated
	personApp
)

// personState says whether userID is a person Slack knows, active and not
// an app, from users.info (cached as userInfo is). An error means Slack
// could not say.
func (c *chatDirectory) personState(ctx context.Context, userID string) (personState, error) {
	u, err := c.userInfo(ctx, userID)
	switch slackCode(err) {
	case "user_not_found", "user_not_visible":
		return personUnknown, nil
	}
	switch {
	case err != nil:
		return personUnknown, err
	case u[factDeactivated] != "":
		return personDeactivated, nil
	case u[factApp] != "":
		return personApp, nil
	}
	return personActive, nil
}

// userChannelsPage is how many channels one users.conversations call asks
// for: Slack's recommended page (its limit is 999).
const userChannelsPage = 200

// UserChannels lists the channels a user is in, from users.conversations:
// the public ones, and the private ones the bot shares with them. Archived
// channels are left out.
func (c *chatDirectory) UserChannels(ctx context.Context, userID string) ([]string, error) {
	key := "users.conversations:" + userID
	if ids, ok := c.lookupCache.get(key, c.clock.Now()); ok {
		return ids, nil
	}
	var out []string
	cursor := ""
	for {
		chans, next, err := c.api.GetConversationsForUserContext(ctx, &slack.GetConversationsForUserParameters{
			UserID: userID, Cursor: cursor, Types: []string{"public_channel", "private_channel"}, Limit: userChannelsPage, ExcludeArchived: true})
		if err != nil {
			return nil, classifyIn(ctx, "users.conversations", "list the channels of "+userID, err)
		}
		for _, ch := range chans {
			out = append(out, ch.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	c.lookupCache.put(key, out, c.clock.Now())
	return out, nil
}

// UserName returns a user's display name, or their real name.
func (c *chatDirectory) UserName(ctx context.Context, userID string) (string, error) {
	u, err := c.userInfo(ctx, userID)
	if err != nil {
		return "", err
	}
	for _, n := range u[1:factGuest] {
		if n != "" {
			return n, nil
		}
	}
	return userID, nil
}
