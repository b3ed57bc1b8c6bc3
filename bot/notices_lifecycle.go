package bot

import (
	"fmt"
	"strings"

	"github.com/firebreakhq/firebreak/incident"
)

// lifecycleWordings word the notices of the incident's roles, severity,
// status, updates, notes and follow-ups as recorded in the channel.
var lifecycleWordings = map[incident.NoticeKind]wordFunc{
	incident.NoticeICAssigned:      icAssignedText,
	incident.NoticeICTakeover:      icTakeoverText,
	incident.NoticeICHandover:      icHandoverText,
	incident.NoticeRoleAssigned:    roleAssignedText,
	incident.NoticeSeverityChanged: severityChangedText,
	incident.NoticeMitigated:       mitigatedText,
	incident.NoticeResolved:        resolvedText,
	incident.NoticeClosed:          closedText,
	incident.NoticeReopened:        reopenedText,
	incident.NoticeStatusSet:       statusSetText,
	incident.NoticeUpdate:          updateText,
	incident.NoticeNote:            noteText,
	incident.NoticeFollowUp:        followUpText,
	incident.NoticeSnoozed:         snoozedText,
	incident.NoticeMessage:         messageText,
}

func icAssignedText(n incident.Notice, _ wording) string {
	return fmt.Sprintf(":large_green_circle: %s is now the Incident Commander.", slackUser(n.User))
}

func icTakeoverText(n incident.Notice, _ wording) string {
	return fmt.Sprintf(":arrows_counterclockwise: %s took over as Incident Commander from %s, confirmed in the channel without a handover.",
		slackUser(n.User), slackUser(n.Prev))
}

func icHandoverText(n incident.Notice, _ wording) string {
	return fmt.Sprintf(":arrows_counterclockwise: Incident Commander handover: %s → %s (by %s).", slackUser(n.Prev), slackUser(n.User), slackUser(n.Actor))
}

func roleAssignedText(n incident.Notice, w wording) string {
	return fmt.Sprintf(":bust_in_silhouette: %s is now the %s lead (by %s).", slackUser(n.User), w.esc(n.Values["role"]), slackUser(n.Actor))
}

func severityChangedText(n incident.Notice, w wording) string {
	v := n.Values
	verb := "lowered"
	if v["raised"] == "true" {
		verb = "raised"
	}
	return fmt.Sprintf(":rotating_light: Severity %s from %s to %s (%s) by %s.", verb, v["from"], v["to"], w.esc(v["label"]), slackUser(n.Actor))
}

func mitigatedText(n incident.Notice, _ wording) string {
	return fmt.Sprintf(":large_yellow_circle: %s marked the incident mitigated.", slackUser(n.Actor))
}

func resolvedText(n incident.Notice, w wording) string {
	text := fmt.Sprintf(":white_check_mark: %s resolved the incident after %s.", slackUser(n.Actor), n.Values["after"])
	if s := n.Values["summary"]; s != "" {
		text += "\n" + quote(w.esc(s))
	}
	return text
}

func closedText(n incident.Notice, _ wording) string {
	return fmt.Sprintf(":lock: %s closed the incident.", slackUser(n.Actor))
}

func reopenedText(n incident.Notice, _ wording) string {
	return fmt.Sprintf(":warning: %s reopened the incident.", slackUser(n.Actor))
}

func statusSetText(n incident.Notice, w wording) string {
	return fmt.Sprintf(":mag: %s set the status to %s.", slackUser(n.Actor), w.esc(n.Values["status"]))
}

func updateText(n incident.Notice, w wording) string {
	v := n.Values
	var b strings.Builder
	fmt.Fprintf(&b, ":memo: *Status update — %s* (%s · %s · %s) from %s\n", n.Incident, v["severity"], w.esc(v["label"]), w.esc(v["status"]), slackUser(n.Actor))
	// The words are stored in Slack's markup (ADR 0056): mentions,
	// channels and links show as Slack shows them, and no ping is made
	// again.
	if s := v["known"]; s != "" {
		fmt.Fprintf(&b, "*What we know:* %s\n", w.markup(s))
	}
	if s := v["doing"]; s != "" {
		fmt.Fprintf(&b, "*What we are doing:* %s\n", w.markup(s))
	}
	if v["next"] != "" {
		fmt.Fprintf(&b, "*Next update:* in %s (by %s)", v["next"], v["next_at"])
	} else {
		b.WriteString("*Next update:* when there is news")
	}
	return b.String()
}

func noteText(n incident.Notice, w wording) string {
	return fmt.Sprintf(":memo: Note from %s (key event for the postmortem): %s", slackUser(n.Actor), w.esc(n.Values["text"]))
}

func followUpText(n incident.Notice, w wording) string {
	who := "no owner yet"
	if n.User != "" {
		who = "owner " + slackUser(n.User)
	}
	when := "no due date yet"
	if d := n.Values["due"]; d != "" {
		when = "due " + d
	}
	return fmt.Sprintf(":clipboard: Follow-up recorded by %s: %s (%s, %s).", slackUser(n.Actor), w.esc(n.Values["text"]), who, when)
}

func snoozedText(n incident.Notice, _ wording) string {
	return fmt.Sprintf(":zzz: %s snoozed update reminders until %s.", slackUser(n.Actor), n.Values["until"])
}

// messageText says a message the domain already worded, as it is.
func messageText(n incident.Notice, _ wording) string { return n.Values["message"] }
