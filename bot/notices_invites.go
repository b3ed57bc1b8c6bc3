package bot

import (
	"fmt"
	"strings"

	"github.com/firebreakhq/firebreak/incident"
)

// inviteWordings word who could not be brought into the war room.
var inviteWordings = map[incident.NoticeKind]wordFunc{
	incident.NoticeNotInvited: notInvitedText,
}

// notInvitedText names the responders Slack refused to invite, each with
// why, and the references that matched nobody, so the IC knows who is
// missing; an entry of the list says one person.
func notInvitedText(n incident.Notice, w wording) string {
	if n.User != "" {
		code := n.Values["code"]
		return fmt.Sprintf("%s (%s, %s)", slackUser(n.User), inviteRefusalWhy(code), w.esc(code))
	}
	var parts []string
	if len(n.Items) > 0 {
		who := make([]string, len(n.Items))
		for i, it := range n.Items {
			who[i] = w.word(it)
		}
		parts = append(parts, "Slack refused to invite "+strings.Join(who, ", ")+".")
	}
	if missing := n.Values["missing"]; missing != "" {
		refs := strings.Split(missing, "\n")
		for i, r := range refs {
			refs[i] = w.esc(r)
		}
		parts = append(parts, "Nobody in Slack matches "+strings.Join(refs, ", ")+
			" (an e-mail address without a Slack account, or a user group that is empty or gone).")
	}
	return ":warning: Not every responder is in this channel. " + strings.Join(parts, " ") +
		" Reach them another way, or ask a workspace admin to add them."
}

// inviteRefusalWhy says why Slack refused to invite someone, by the code of
// conversations.invite.
func inviteRefusalWhy(code string) string {
	switch code {
	case "user_is_restricted":
		return "a guest, whom only a workspace admin can add to a channel"
	case "user_is_ultra_restricted", "ura_max_channels":
		return "a single-channel guest already in their one channel"
	case "user_not_found", "invalid_user":
		return "no longer a member of the workspace"
	case "user_disabled":
		return "a deactivated account"
	case "cant_invite":
		return "the workspace settings do not allow inviting them"
	case "org_user_not_in_team", "user_team_not_in_channel":
		return "a member of another workspace of the organisation"
	case "invitee_cant_see_channel", "no_external_invite_permission":
		return "outside the teams this channel is shared with"
	case "user_is_bot", "app_cannot_join_channel":
		return "an app that cannot join the channel"
	}
	return "Slack gave no reason the bot knows"
}
