package bot

import (
	"context"
	"log/slog"
	"sync/atomic"

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

// workspace is the Slack workspace and organisation the bot's token belongs
// to.
type workspace struct{ team, enterprise string }

// homeGuard refuses requests from other organisations once it knows the
// bot's own.
type homeGuard struct {
	home atomic.Pointer[workspace]
	log  *slog.Logger
}

// SetWorkspace tells the handler the bot's own workspace (team id) and, on
// Enterprise Grid, its organisation (enterprise id), from auth.test. Until
// it is told, no request is refused for its origin.
func (h *Handler) SetWorkspace(team, enterprise string) {
	if team == "" && enterprise == "" {
		return
	}
	h.homes.home.Store(&workspace{team: team, enterprise: enterprise})
}

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
