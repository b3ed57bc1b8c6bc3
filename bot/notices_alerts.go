package bot

import (
	"fmt"

	"github.com/firebreakhq/firebreak/incident"
)

// alertWordings word what the monitoring alerts behind an incident do.
var alertWordings = map[incident.NoticeKind]wordFunc{
	incident.NoticeAlertRepeat:           alertRepeatText,
	incident.NoticeAlertRefiring:         alertRefiringText,
	incident.NoticeAlertResolved:         alertResolvedText,
	incident.NoticeAlertProposalResolved: alertProposalResolvedText,
	incident.NoticeAlertStarted:          alertStartedText,
	incident.NoticeAlertProposal:         alertProposalText,
}

func alertRepeatText(n incident.Notice, w wording) string {
	v := n.Values
	return fmt.Sprintf(":repeat: The alert *%s* (%s) fired again (%s times so far).", w.esc(v["title"]), v["source"], v["count"])
}

func alertRefiringText(n incident.Notice, w wording) string {
	return fmt.Sprintf(":rotating_light: The alert *%s* (%s) that started this is firing again.", w.esc(n.Values["title"]), n.Values["source"])
}

func alertResolvedText(n incident.Notice, w wording) string {
	v := n.Values
	text := fmt.Sprintf(":large_green_circle: The alert that started this has resolved: *%s* (%s), after %s.", w.esc(v["title"]), v["source"], v["after"])
	if v["alerts"] != "" && v["firing"] != "0" {
		text += fmt.Sprintf(" %s of the %s alerts of its rule still fire.", v["firing"], v["alerts"])
	}
	if v["open"] == "true" {
		text += " Confirm with data (monitors green, error rate at baseline, a smoke test) before resolving."
	}
	return text
}

func alertProposalResolvedText(n incident.Notice, w wording) string {
	v := n.Values
	if a := v["alerts"]; a != "" && a != "1" {
		return fmt.Sprintf(":large_green_circle: All %s alerts of *%s* (%s) resolved, the last after %s, before anyone decided. Declare %s from the proposal only if it still matters.",
			a, w.esc(v["title"]), v["source"], v["after"], v["severity"])
	}
	return fmt.Sprintf(":large_green_circle: The alert *%s* (%s) resolved after %s, before anyone decided. Declare %s from the proposal only if it still matters.",
		w.esc(v["title"]), v["source"], v["after"], v["severity"])
}

func alertStartedText(n incident.Notice, w wording) string {
	v := n.Values
	how := "declared by " + slackUser(n.Actor)
	if n.Actor == "bot" {
		how = "declared automatically by the policy rule " + w.esc(v["rule"])
	}
	text := fmt.Sprintf(":bell: Started by the alert *%s* (%s), %s.", w.esc(v["title"]), v["source"], how)
	if u := v["url"]; u != "" {
		text += " " + u
	}
	return text
}

func alertProposalText(n incident.Notice, w wording) string {
	v := n.Values
	text := fmt.Sprintf(":bell: *Declare %s from this alert?* %s (%s)", v["severity"], w.esc(v["title"]), v["source"])
	if svc := v["service"]; svc != "" {
		text += fmt.Sprintf("\nService: %s · %s %s", w.esc(svc), v["severity"], w.esc(v["label"]))
	}
	if a := v["alerts"]; a != "" {
		switch f := v["firing"]; {
		case f == "0" && a == "1":
			text += "\n:large_green_circle: The alert has resolved."
		case f == "0":
			text += fmt.Sprintf("\n:large_green_circle: All %s alerts of this rule have resolved.", a)
		case f == a:
			text += fmt.Sprintf("\n%s alerts of this rule are firing.", a)
		default:
			text += fmt.Sprintf("\n%s of %s alerts of this rule still firing.", f, a)
		}
	}
	if s := v["summary"]; s != "" {
		text += "\n" + quote(w.esc(s))
	}
	if u := v["url"]; u != "" {
		text += "\n" + u
	}
	return text
}
