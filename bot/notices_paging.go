package bot

import (
	"fmt"
	"strings"

	"github.com/firebreakhq/firebreak/incident"
)

// pagingWordings word the pages sent to PagerDuty, what PagerDuty reports
// on them, and who is on call.
var pagingWordings = map[incident.NoticeKind]wordFunc{
	incident.NoticePageSimulated:    pageSimulatedText,
	incident.NoticePaged:            pagedText,
	incident.NoticePageFailed:       pageFailedText,
	incident.NoticePageAcknowledged: pageAcknowledgedText,
	incident.NoticePageAckRefused:   pageAckRefusedText,
	incident.NoticePageEvent:        pageEventText,
	incident.NoticeRepage:           repageText,
	incident.NoticeOnCall:           onCallText,
	incident.NoticeOnCallLevel:      onCallLevelText,
}

func pageSimulatedText(n incident.Notice, w wording) string {
	who := "on-call"
	if n.Values["backup"] == "true" {
		who += " and the backup"
	}
	return fmt.Sprintf(":pager: Simulated page: *%s* %s would have been paged in PagerDuty now. Nobody was paged.", w.esc(n.Values["service"]), who)
}

func pagedText(n incident.Notice, w wording) string {
	v := n.Values
	who := w.esc(v["who"])
	if who == "" {
		who = "on-call"
	}
	if v["backup"] == "true" {
		who += " (and the backup)"
	}
	text := fmt.Sprintf(":pager: Paged *%s* in PagerDuty: %s.", w.esc(v["service"]), who)
	if u := v["url"]; u != "" {
		text += fmt.Sprintf(" <%s|Open in PagerDuty>", u)
	}
	if why := v["backup_missed"]; why != "" {
		text += fmt.Sprintf(" :warning: *The backup was not paged*: %s. Please call the backup yourself.", w.esc(why))
	}
	return text
}

func pageFailedText(n incident.Notice, w wording) string {
	if n.Values["gave_up"] == "true" {
		text := fmt.Sprintf(":x: *Paging %s gave up*", w.esc(n.Values["service"]))
		if after := n.Values["after"]; after != "" {
			text += " after " + w.esc(after) + " of retrying"
		}
		return text + fmt.Sprintf(": %s Nobody was paged: page on-call by phone, or press Retry page.", w.esc(n.Values["error"]))
	}
	text := fmt.Sprintf(":warning: *Paging %s failed*: %s", w.esc(n.Values["service"]), w.esc(n.Values["error"]))
	if n.Values["final"] == "true" {
		return text + " Retrying cannot fix this; correct it and use Retry, or page by phone."
	}
	return text + " Retrying in the background."
}

func pageAcknowledgedText(n incident.Notice, w wording) string {
	who := "someone"
	if n.User != "" {
		who = slackUser(n.User)
	} else if a := n.Values["agent"]; a != "" {
		who = w.esc(a)
	}
	return fmt.Sprintf(":white_check_mark: Acknowledged by %s in PagerDuty, %s after the page.", who, n.Values["after"])
}

func pageAckRefusedText(n incident.Notice, w wording) string {
	if n.Values["resolved"] == "true" {
		return fmt.Sprintf("The page for *%s* is resolved already, so there is nothing to acknowledge; nothing was sent to PagerDuty.", w.esc(n.Values["service"]))
	}
	if e := n.Values["error"]; e != "" {
		return "PagerDuty did not accept the acknowledgement: " + w.esc(e)
	}
	return "I could not read your e-mail address from Slack, so I cannot act as you in PagerDuty. Acknowledge in the PagerDuty app instead."
}

// pageEventText words what PagerDuty reports on a page, and the facts of
// an event this version does not know.
func pageEventText(n incident.Notice, w wording) string {
	service, agent := w.esc(n.Values["service"]), w.esc(n.Values["agent"])
	to := ""
	if a := n.Values["assignees"]; a != "" {
		to = " to " + w.esc(a)
	}
	switch incident.PageEventKind(n.Values["event"]) {
	case incident.PageUnacknowledged:
		return fmt.Sprintf(":warning: The page for %s is unacknowledged again (the acknowledgement timed out).", service)
	case incident.PageEscalated:
		return fmt.Sprintf(":arrow_double_up: PagerDuty escalated the page for %s%s.", service, to)
	case incident.PageReassigned:
		return fmt.Sprintf(":arrows_counterclockwise: %s reassigned the page for %s%s.", agent, service, to)
	case incident.PageResolved:
		return fmt.Sprintf(":white_check_mark: The page for %s was resolved in PagerDuty by %s.", service, agent)
	case incident.PageReopened:
		return fmt.Sprintf(":warning: The page for %s was reopened in PagerDuty by %s.", service, agent)
	}
	return unknownNoticeText(n, w.esc)
}

func repageText(n incident.Notice, w wording) string {
	v := n.Values
	text := fmt.Sprintf(":rotating_light: Nobody acknowledged the page for *%s* within %s", w.esc(v["service"]), w.esc(v["target"]))
	if v["action"] != "escalated" {
		return text + ", so I am paging again: on-call, and the backup where PagerDuty can reach them (the new page says which)."
	}
	text += ", so I escalated it in PagerDuty to the next level"
	if a := v["assignees"]; a != "" {
		text += ", now paging " + w.esc(a)
	}
	return text + "."
}

func onCallText(n incident.Notice, w wording) string {
	if e := n.Values["error"]; e != "" {
		return "Could not ask PagerDuty who is on call: " + w.esc(e)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*On call for %s now*", w.esc(n.Values["service"]))
	if len(n.Items) == 0 {
		b.WriteString("\nNobody is on call in PagerDuty for this service.")
	}
	for _, it := range n.Items {
		b.WriteString("\n" + w.word(it))
	}
	return b.String()
}

func onCallLevelText(n incident.Notice, w wording) string {
	v := n.Values
	line := fmt.Sprintf("• Level %s: %s (%s)", v["level"], w.esc(v["name"]), w.esc(v["schedule"]))
	if u := v["until"]; u != "" {
		line += " until " + u
	}
	return line
}
