package bot

import (
	"fmt"
	"strings"

	"github.com/firebreakhq/firebreak/incident"
)

// followThroughWordings word what follows an incident: the postmortem
// review's schedule and reminders, and the follow-ups' due dates and
// weekly digest.
var followThroughWordings = map[incident.NoticeKind]wordFunc{
	incident.NoticeReviewScheduled:   reviewScheduledText,
	incident.NoticeReviewState:       reviewStateText,
	incident.NoticeReviewReminder:    reviewReminderText,
	incident.NoticeReviewOverdue:     reviewOverdueText,
	incident.NoticeFollowUpDone:      followUpDoneText,
	incident.NoticeFollowUpDue:       followUpDueText,
	incident.NoticeFollowUpOverdue:   followUpOverdueText,
	incident.NoticeFollowUpOverdueIC: followUpOverdueICText,
	incident.NoticeFollowUpItem:      followUpItemText,
	incident.NoticeFollowUpDigest:    followUpDigestText,
}

func reviewScheduledText(n incident.Notice, _ wording) string {
	text := fmt.Sprintf(":calendar: The postmortem review of %s is due %s (%s business days). Review state: draft.", n.Incident, n.Values["due"], n.Values["days"])
	if n.User != "" {
		text += fmt.Sprintf(" Owner: %s.", slackUser(n.User))
	}
	return text
}

func reviewStateText(n incident.Notice, _ wording) string {
	return fmt.Sprintf(":page_facing_up: %s moved the review of %s from %s to %s.", slackUser(n.Actor), n.Incident, n.Values["from"], n.Values["to"])
}

func reviewReminderText(n incident.Notice, w wording) string {
	v := n.Values
	return fmt.Sprintf(":calendar: Reminder: the postmortem review of %s (%s) is due %s; it is %s.", n.Incident, w.esc(v["title"]), v["due"], v["state"])
}

func reviewOverdueText(n incident.Notice, w wording) string {
	v := n.Values
	return fmt.Sprintf(":warning: The postmortem review of %s (%s) was due %s and is still %s.", n.Incident, w.esc(v["title"]), v["due"], v["state"])
}

func followUpDoneText(n incident.Notice, w wording) string {
	text := fmt.Sprintf(":white_check_mark: Follow-up done (%s): %s", w.esc(n.Values["by"]), w.esc(n.Values["text"]))
	if u := n.Values["url"]; u != "" {
		text += " " + u
	}
	return text
}

func followUpDueText(n incident.Notice, w wording) string {
	return fmt.Sprintf(":alarm_clock: Your follow-up from %s is due %s: %s", n.Incident, n.Values["due"], w.esc(n.Values["text"]))
}

func followUpOverdueText(n incident.Notice, w wording) string {
	return fmt.Sprintf(":red_circle: Your follow-up from %s was due %s and is overdue: %s", n.Incident, n.Values["due"], w.esc(n.Values["text"]))
}

func followUpOverdueICText(n incident.Notice, w wording) string {
	return fmt.Sprintf(":red_circle: A follow-up from %s, which you commanded, is overdue (due %s, %s): %s",
		n.Incident, n.Values["due"], followUpOwner(n), w.esc(n.Values["text"]))
}

// followUpOwner names a follow-up's owner.
func followUpOwner(n incident.Notice) string {
	if n.User != "" {
		return slackUser(n.User)
	}
	return "no owner"
}

func followUpItemText(n incident.Notice, w wording) string {
	v := n.Values
	due := "no due date"
	if d := v["due"]; d != "" {
		due = "due " + d
	}
	mark := "•"
	if v["overdue"] == "true" {
		mark = ":red_circle: *overdue*"
	}
	if v["private"] == "true" {
		return fmt.Sprintf("%s %s: a follow-up (%s, %s)", mark, n.Incident, followUpOwner(n), due)
	}
	line := fmt.Sprintf("%s %s: %s (%s, %s)", mark, n.Incident, w.esc(v["text"]), followUpOwner(n), due)
	if u := v["url"]; u != "" {
		line += " " + u
	}
	return line
}

func followUpDigestText(n incident.Notice, w wording) string {
	v := n.Values
	var b strings.Builder
	fmt.Fprintf(&b, ":spiral_note_pad: *Weekly follow-ups, %s* (%s): %s open, %s overdue.", w.esc(v["team"]), v["period"], v["open"], v["overdue"])
	if v["open"] == "0" {
		b.WriteString(" Nothing open. :tada:")
	}
	for _, it := range n.Items {
		b.WriteString("\n" + w.word(it))
	}
	if m := v["more"]; m != "" {
		fmt.Fprintf(&b, "\n…and %s more: `followups` lists them all.", m)
	}
	return b.String()
}
