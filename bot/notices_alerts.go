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
	if v["open"] == "true" {
		text += " Confirm with data (monitors green, error rate at baseline, a smoke test) before resolving."
	}
	return text
}

func alertProposalResolvedText(n incident.Notice, w wording) string {
	v := n.Values
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
	if s := v["summary"]; s != "" {
		text += "\n" + quote(w.esc(s))
	}
	if u := v["url"]; u != "" {
		text += "\n" + u
	}
	return text
}
