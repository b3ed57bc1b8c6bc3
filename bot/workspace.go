package bot

import (
	"context"
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
// Until the bot knows its own workspace it cannot tell its people from
// another organisation's, so it acts for nobody: a command or a click is
// answered that the bot is starting or cannot reach Slack yet. The
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

	mu sync.Mutex // held by the one request asking auth.test
	// tried is when auth.test was last asked for a request.
	tried time.Time
}

const (
	// homeLookup bounds the auth.test a request asks while the bot does
	// not know its workspace: the answer must still reach Slack in time.
	homeLookup = 500 * time.Millisecond
	// homeRetry is how soon after a failed auth.test a request asks
	// again; the ones in between are refused at once.
	homeRetry = 5 * time.Second
)

// SetWorkspace tells the handler the bot's own workspace (team id) and, on
// Enterprise Grid, its organisation (enterprise id), from auth.test. Until
// it is told, or learns it itself, every command and click is refused
// (errNotReady).
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

// outsider reports whether a request's user belongs to another
// organisation. An interaction names the user's own team (user.team_id;
// on Enterprise Grid, Slack reports the organisation's id there): it is
// theirs that decides, for the payload's team and enterprise are where the
// app is installed, which in a Slack Connect channel is this organisation
// whoever clicks. A slash command names no user team: its team (or, on
// Enterprise Grid, its enterprise) is the user's, as Slack runs a command
// only for people of an organisation the app is installed in.
func (h *homeGuard) outsider(userTeam, team, enterprise string) bool {
	home := h.home.Load()
	if home == nil {
		// Said by known, which comes first.
		return false
	}
	if userTeam != "" {
		return userTeam != home.team && (home.enterprise == "" || userTeam != home.enterprise)
	}
	if home.enterprise != "" && enterprise == home.enterprise {
		return false
	}
	return team != "" && team != home.team
}

// msgOutsider is what a person of another organisation is told.
const msgOutsider = "Only members of the workspace this bot belongs to can run incident commands or use its buttons; you can follow along in the channel."

// errOutsider refuses a request from another organisation.
var errOutsider = incident.Errorf(incident.EFORBIDDEN, msgOutsider)

// commandOutsider refuses, and logs, a slash command from another
// organisation.
func (h *homeGuard) command(ctx context.Context, cmd slack.SlashCommand) bool {
	if !h.outsider("", cmd.TeamID, cmd.EnterpriseID) {
		return false
	}
	h.log.WarnContext(ctx, "command from another organisation refused", "user", cmd.UserID, "team", cmd.TeamID, "enterprise", cmd.EnterpriseID)
	return true
}

// interactionOutsider refuses, and logs, an interaction from another
// organisation.
func (h *homeGuard) interaction(ctx context.Context, cb slack.InteractionCallback) bool {
	if !h.outsider(cb.User.TeamID, cb.Team.ID, cb.Enterprise.ID) {
		return false
	}
	h.log.WarnContext(ctx, "interaction from another organisation refused", "user", cb.User.ID, "user_team", cb.User.TeamID, "team", cb.Team.ID, "enterprise", cb.Enterprise.ID)
	return true
}
