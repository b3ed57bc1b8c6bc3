package bot

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// Only people of the organisation the bot is installed in run it.
//
// In a Slack Connect channel, people of another organisation read and
// write the same channel, and their clicks on the bot's buttons reach the
// bot, signed by Slack like any other. The policy's "anyone in the
// workspace" means this organisation's people, not whoever shares a channel
// with them: a guest organisation's user must not declare a P1 that pages
// this organisation's on-call, take the IC role, resolve or roll back. The
// bot's own workspace (and Enterprise Grid organisation) is learnt from
// auth.test (SetWorkspace); a command or an interaction from a user of
// another one is refused, and logged. What they write in the channel still
// becomes the timeline.
//
// On Enterprise Grid, a click names the clicker's own workspace
// (user.team_id), which for a member of the organisation may be another of
// its workspaces than the bot's: the payload alone cannot tell them from a
// Slack Connect guest organisation's user. Slack's directory can: users.info
// gives a member of the organisation enterprise_user.enterprise_id, the
// organisation's id, and a person of another organisation another id, none,
// or is_stranger. The bot asks it (cached like other lookups) and acts for
// the organisation's people; when Slack cannot say, nothing is done and the
// person is asked to try again.

//
// Until the bot knows its own workspace it cannot tell its people from
// another organisation's, so it acts for nobody: a command or a click is
// answered that the bot is starting or cannot reach Slack yet (a command
// whose auth.test Slack refused the token of is told an admin must fix
// SLACK_BOT_TOKEN: waiting will not help). The
// program tells it (SetWorkspace) as soon as its auth.test passes; a
// request that comes first asks auth.test itself (at most every
// homeRetry, within homeLookup), so the bot does not wait on the
// program's next try once Slack answers (ADR 0058).

// workspace is the Slack workspace and organisation the bot's token belongs
// to.
type workspace struct{ team, enterprise string }

// homeGuard refuses requests from other organisations once it knows the
// bot's own, and every request until it does.
type homeGuard struct {
	home atomic.Pointer[workspace]
	log  *slog.Logger
	// learn asks Slack the bot's workspace (auth.test); nil when there
	// is no Slack client.
	learn func(ctx context.Context) (workspace, error)
	clock incident.Clock

	// people asks Slack's directory who a person of another workspace
	// is; nil while the handler has no Slack client or has not been told
	// its workspace (SetWorkspace).
	people atomic.Pointer[chatDirectory]

	mu sync.Mutex // held by the one request asking auth.test
	// tried is when auth.test was last asked for a request.
	tried time.Time
	// refused is whether that auth.test was Slack refusing the bot's
	// token.
	refused atomic.Bool
}

const (
	// homeLookup bounds the auth.test a request asks while the bot does
	// not know its workspace: the answer must still reach Slack in time.
	homeLookup = 500 * time.Millisecond
	// homeRetry is how soon after a failed auth.test a request asks
	// again; the ones in between are refused at once.
	homeRetry = 5 * time.Second
	// memberLookup bounds the users.info call that tells a member of the
	// bot's Enterprise Grid organisation from another organisation's
	// person, on the way to the acknowledgement deadline.
	memberLookup = 750 * time.Millisecond
)

// SetWorkspace tells the handler the bot's own workspace (team id) and, on
// Enterprise Grid, its organisation (enterprise id), from auth.test. Until
// it is told, or learns it itself, every command and click is refused
// (errNotReady). From then on, a click from another workspace of the
// organisation is settled with Slack's directory (users.info).
func (h *Handler) SetWorkspace(team, enterprise string) {
	h.homes.set(workspace{team: team, enterprise: enterprise})
}

func (h *homeGuard) set(w workspace) {
	if w.team == "" && w.enterprise == "" {
		return
	}
	h.home.Store(&w)
}

// known reports whether the bot knows its own workspace, asking Slack's
// auth.test when it does not and has not asked within homeRetry.
func (h *homeGuard) known(ctx context.Context) bool {
	if h.home.Load() != nil {
		return true
	}
	if h.learn == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.home.Load() != nil {
		return true
	}
	now := h.clock.Now()
	if !h.tried.IsZero() && now.Sub(h.tried) < homeRetry && !now.Before(h.tried) {
		return false
	}
	h.tried = now
	ctx, cancel := context.WithTimeout(ctx, homeLookup)
	defer cancel()
	w, err := h.learn(ctx)
	h.refused.Store(botTokenRefused(err))
	if err != nil {
		h.log.WarnContext(ctx, "request refused: the bot does not know its Slack workspace yet, and auth.test failed", "err", err)
		return false
	}
	h.set(w)
	return h.home.Load() != nil
}

// msgNotReady is what everyone is told while the bot does not know its
// workspace.
const msgNotReady = "The bot is still starting and cannot reach Slack yet, so it cannot tell who you are; nothing was done. Try again in a minute."

// errNotReady refuses a request while the bot does not know its workspace.
var errNotReady = incident.Errorf(incident.EUNAVAILABLE, msgNotReady)

// msgTokenRefused is what everyone is told while the bot does not know its
// workspace because Slack refuses its token: trying again cannot help.
const msgTokenRefused = "Slack refused the bot's token (SLACK_BOT_TOKEN); nothing was done, and trying again will not help: " +
	"an admin of the bot must replace the token."

// errTokenRefused refuses a request while Slack refuses the bot's token.
var errTokenRefused = incident.Errorf(incident.EUNAVAILABLE, msgTokenRefused)

// notReadyErr is notReady as the error an interaction is refused with.
func (h *homeGuard) notReadyErr() error {
	if h.refused.Load() {
		return errTokenRefused
	}
	return errNotReady
}

// notReady is what a request refused by known is told: that Slack refused
// the bot's token when the last auth.test said so, else that the bot
// cannot reach Slack yet.
func (h *homeGuard) notReady() string {
	if h.refused.Load() {
		return msgTokenRefused
	}
	return msgNotReady
}

// botTokenRefused reports Slack answering that the bot's token is not
// valid (wrong, revoked, expired, or its workspace or user deactivated),
// as opposed to Slack being unreachable or failing.
func botTokenRefused(err error) bool {
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		return false
	}
	switch se.Err {
	case "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive", "no_permission",
		"org_login_required", "team_access_not_granted", "ekm_access_denied", "not_allowed_token_type":
		return true
	}
	return false
}

// refusal says why a request's user may not act for the bot's
// organisation: nil when they may, errOutsider when they are of another
// organisation, errMemberUnknown when Slack cannot say which.
//
// An interaction names the user's own team (user.team_id): it is theirs
// that decides, for the payload's team and enterprise are where the app is
// installed, which in a Slack Connect channel is this organisation whoever
// clicks. On Enterprise Grid, Slack reports there the organisation's id, or
// the user's own workspace, which may be another workspace of the
// organisation: then Slack's directory says whose the user is (member). A
// slash command names no user team: its team (or, on Enterprise Grid, its
// enterprise) is the user's, as Slack runs a command only for people of an
// organisation the app is installed in.
func (h *homeGuard) refusal(ctx context.Context, user, userTeam, team, enterprise string) error {
	home := h.home.Load()
	switch {
	case home == nil:
		// Said by known, which comes first.
		return nil
	case userTeam != "":
		switch {
		case userTeam == home.team, home.enterprise != "" && userTeam == home.enterprise:
			return nil
		case home.enterprise == "", isSlackID(userTeam, "E"):
			// Not on Grid, or another organisation by its own id.
			return errOutsider
		}
		return h.member(ctx, *home, user)
	case home.enterprise != "" && enterprise == home.enterprise:
		return nil
	case team != "" && team != home.team:
		return errOutsider
	}
	return nil
}

// member says whether a user, clicking from another workspace than the
// bot's, is one of its people, from Slack's directory: a member of its
// Enterprise Grid organisation, or of its own workspace. It returns nil
// when they are, errOutsider when Slack knows them as another
// organisation's person or not at all, errMemberUnknown when it cannot be
// asked.
func (h *homeGuard) member(ctx context.Context, home workspace, user string) error {
	people := h.people.Load()
	if people == nil {
		h.log.WarnContext(ctx, "request refused: the bot cannot ask Slack's directory whether a user of another workspace is of its organisation", "user", user)
		return errMemberUnknown
	}
	ctx, cancel := context.WithTimeout(ctx, memberLookup)
	defer cancel()
	in, err := people.userOrganisation(ctx, user)
	switch {
	case permanentLookupError(err):
		return errOutsider
	case err != nil:
		h.log.WarnContext(ctx, "request refused: Slack could not say whether a user of another workspace is of the bot's organisation", "user", user, "err", err)
		return errMemberUnknown
	case !home.includes(in):
		return errOutsider
	}
	return nil
}

// includes reports whether a person of workspace (and organisation) in,
// as Slack's directory shows them, is one of home's people.
func (home workspace) includes(in workspace) bool {
	return in.enterprise != "" && in.enterprise == home.enterprise || in.team != "" && in.team == home.team
}

// organisationMemory is how long what users.info said of a person's
// organisation is still used when Slack cannot be asked again: people
// rarely change organisation.
const organisationMemory = 24 * time.Hour

// userOrganisation returns the workspace (team_id) and Enterprise Grid
// organisation (enterprise_user.enterprise_id) a user belongs to, from
// users.info, cached for userInfoTTL and, while Slack cannot be asked, up
// to organisationMemory. A person Slack shows as a stranger (is_stranger),
// another organisation's person seen in a Slack Connect channel, belongs
// to none the bot can act for: both are "".
func (c *chatDirectory) userOrganisation(ctx context.Context, userID string) (workspace, error) {
	key := "users.info-organisation:" + userID
	if v, ok := c.lookupCache.getWithin(key, c.clock.Now(), userInfoTTL); ok {
		return workspace{team: v[0], enterprise: v[1]}, nil
	}
	u, err := c.api.GetUserInfoContext(ctx, userID)
	if err != nil {
		err = classifyIn(ctx, "users.info", "look up the user", err)
		if v, ok := c.lookupCache.getWithin(key, c.clock.Now(), organisationMemory); ok && !permanentLookupError(err) {
			return workspace{team: v[0], enterprise: v[1]}, nil
		}
		return workspace{}, err
	}
	var in workspace
	if !u.IsStranger {
		in = workspace{team: u.TeamID, enterprise: u.Enterprise.EnterpriseID}
	}
	now := c.clock.Now()
	c.lookupCache.put(key, []string{in.team, in.enterprise}, now)
	c.lookupCache.put("users.info:"+userID, userFacts(u), now)
	return in, nil
}

// permanentLookupError reports whether a users.info error is Slack's
// answer about the user rather than a failure to answer.
func permanentLookupError(err error) bool {
	switch slackCode(err) {
	case "user_not_found", "user_not_visible":
		return true
	}
	return false
}

// msgMemberUnknown says why nothing was done for a person of another
// workspace while Slack cannot say whether they are of the bot's
// organisation.
const msgMemberUnknown = "Slack could not confirm just now that you are a member of the organisation this bot belongs to, so nothing was done. Try again in a minute."

// errMemberUnknown refuses a request while Slack cannot say whether its
// user is of the bot's organisation.
var errMemberUnknown = incident.Errorf(incident.EUNAVAILABLE, msgMemberUnknown)

// msgOutsider is what a person of another organisation is told.
const msgOutsider = "Only members of the workspace this bot belongs to can run incident commands or use its buttons; you can follow along in the channel."

// errOutsider refuses a request from another organisation.
var errOutsider = incident.Errorf(incident.EFORBIDDEN, msgOutsider)

// command refuses, and logs, a slash command from another organisation.
func (h *homeGuard) command(ctx context.Context, cmd slack.SlashCommand) bool {
	if h.refusal(ctx, cmd.UserID, "", cmd.TeamID, cmd.EnterpriseID) == nil {
		return false
	}
	h.log.WarnContext(ctx, "command from another organisation refused", "user", cmd.UserID, "team", cmd.TeamID, "enterprise", cmd.EnterpriseID)
	return true
}

// interactionRefusal says why an interaction's user may not act (refusal),
// and logs a refusal of another organisation's person.
func (h *homeGuard) interactionRefusal(ctx context.Context, cb slack.InteractionCallback) error {
	err := h.refusal(ctx, cb.User.ID, cb.User.TeamID, cb.Team.ID, cb.Enterprise.ID)
	if err == errOutsider {
		h.log.WarnContext(ctx, "interaction from another organisation refused", "user", cb.User.ID, "user_team", cb.User.TeamID, "team", cb.Team.ID, "enterprise", cb.Enterprise.ID)
	}
	return err
}
