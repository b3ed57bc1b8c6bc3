package bot

import (
	"fmt"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
)

// commsWordings word the customer communication: the status page clock,
// its posts and the customer e-mail.
var commsWordings = map[incident.NoticeKind]wordFunc{
	incident.NoticeStatusPageDraft:        statusPageDraftText,
	incident.NoticeStatusPageNudge:        statusPageNudgeText,
	incident.NoticeStatusPageEscalate:     statusPageEscalateText,
	incident.NoticeStatusPageReminder:     statusPageReminderText,
	incident.NoticeStatusPageStale:        statusPageStaleText,
	incident.NoticeStatusPageOffer:        statusPageOfferText,
	incident.NoticeStatusPagePosted:       statusPagePostedText,
	incident.NoticeStatusPageComponents:   statusPageComponentsText,
	incident.NoticeStatusPageFailed:       statusPageFailedText,
	comms.NoticeStatusPageDropped:         statusPageDroppedText,
	comms.NoticeStatusPageReopenOffer:     statusPageReopenOfferText,
	incident.NoticeNotCustomerFacing:      notCustomerFacingText,
	incident.NoticeCustomerEmail:          customerEmailText,
	incident.NoticeCustomerEmailReminder:  customerEmailReminderText,
	incident.NoticeCustomerEmailSent:      customerEmailSentText,
	incident.NoticeCustomerEmailNotNeeded: customerEmailNotNeededText,
	incident.NoticeDataConcern:            dataConcernText,
}

func statusPageDraftText(n incident.Notice, w wording) string {
	v := n.Values
	return fmt.Sprintf(":mega: *Status page draft for %s* (%s). Customers should hear from us within %s, by %s. Publish it, edit it, or say the incident is not customer-facing.\n%s",
		n.Incident, v["provider"], v["within"], v["by"], blockQuote(w.esc(v["body"])))
}

// quotedDraft is the draft a reminder's Publish button posts, quoted under
// it, when the notice carries it.
func quotedDraft(n incident.Notice, w wording) string {
	if b := n.Values["body"]; b != "" {
		return "\n" + blockQuote(w.esc(b))
	}
	return ""
}

func statusPageNudgeText(n incident.Notice, w wording) string {
	return fmt.Sprintf(":hourglass_flowing_sand: %s, *%s is not on the status page yet*: %s left of the %s target. Publish the draft, edit it, or mark the incident not customer-facing.",
		slackUser(n.User), n.Incident, n.Values["left"], n.Values["within"]) + quotedDraft(n, w)
}

func statusPageEscalateText(n incident.Notice, w wording) string {
	text := fmt.Sprintf(":rotating_light: *%s: %s without a status page post.* Customers have heard nothing from us. %s", n.Incident, n.Values["after"], slackUser(n.User))
	if g := n.Values["group"]; g != "" {
		text += ", " + slackGroup(g)
	} else if n.Prev != "" {
		text += ", " + slackUser(n.Prev)
	}
	return text + ", please publish now or mark the incident not customer-facing." + quotedDraft(n, w)
}

// statusPageReminderText is the reminder sent directly to the person a
// step of the status page clock calls on. The clock starts at the
// declaration or at a raise to a severity that has one, and the notice
// counts from whichever it was ("after") without saying which: so does
// the sentence.
func statusPageReminderText(n incident.Notice, _ wording) string {
	return fmt.Sprintf("%s is not on the status page yet (%s since its status page clock started). Publish the draft in <#%s> or mark it not customer-facing.",
		n.Incident, n.Values["after"], n.Values["channel"])
}

func statusPageStaleText(n incident.Notice, w wording) string {
	return fmt.Sprintf(":globe_with_meridians: %s, *nothing was posted on the status page for %s* about %s. Post this update?\n%s",
		slackUser(n.User), n.Values["quiet"], n.Incident, blockQuote(w.esc(n.Values["body"])))
}

func statusPageOfferText(n incident.Notice, w wording) string {
	lead := ":globe_with_meridians: *Also post this update to the status page?*"
	if n.Values["post"] == "resolution" {
		lead = fmt.Sprintf(":white_check_mark: *%s is resolved: post the resolution notice on the status page?*", n.Incident)
	}
	return lead + "\n" + blockQuote(w.esc(n.Values["body"]))
}

// statusPageReopenOfferText offers the update that reopens a public
// incident its resolution notice left resolved.
func statusPageReopenOfferText(n incident.Notice, w wording) string {
	shows := "still shows it resolved"
	if n.Values["maybe"] == "true" {
		shows = "may show it resolved (an attempt at the notice failed, perhaps after it got there)"
	}
	return fmt.Sprintf(":rotating_light: *%s was reopened after its resolution notice*, and %s %s while its components are back in outage. Post this update to reopen it there?\n%s",
		n.Incident, n.Values["provider"], shows, blockQuote(w.esc(n.Values["body"])))
}

func statusPagePostedText(n incident.Notice, w wording) string {
	v := n.Values
	verb := "Posted an update on the status page"
	switch {
	case v["first"] == "true":
		verb = "Posted on the status page"
	case v["post"] == "resolution":
		verb = "Posted the resolution notice on the status page"
	}
	by := ""
	if n.Actor != "" && n.Actor != "bot" {
		by = " by " + slackUser(n.Actor)
	}
	where := v["id"]
	if u := v["url"]; u != "" {
		where = "<" + u + "|" + w.esc(v["id"]) + ">"
	}
	text := fmt.Sprintf(":globe_with_meridians: %s (%s · %s)%s: %s", verb, v["provider"], v["status"], by, where)
	if v["first"] == "true" {
		text += fmt.Sprintf(", %s after the declaration", v["after"])
	}
	return text
}

func statusPageComponentsText(n incident.Notice, _ wording) string {
	return fmt.Sprintf(":globe_with_meridians: Status page components for %s set to %s.", n.Incident, n.Values["components"])
}

// statusPageFailedText says why a post failed and what the buttons do:
// Retry sends the same words again; Edit (on a refusal) changes them.
func statusPageFailedText(n incident.Notice, w wording) string {
	text := fmt.Sprintf(":warning: *The status page post for %s failed* (%s): %s", n.Incident, n.Values["provider"], w.esc(incident.EndSentence(n.Values["error"])))
	switch n.Values["retry"] {
	case "final":
		return text + " Sending it again as it is cannot help: fix what the error names and use Retry, which sends the same words again, or use Edit to change the words."
	case "gave_up":
		return text + " I gave up retrying; use Retry when the status page is back."
	}
	return text + " Retrying in the background; nothing will be posted twice."
}

// publicPostName names a status page post kind in a sentence.
func publicPostName(kind string) string {
	switch kind {
	case incident.PostAcknowledge:
		return "the first post"
	case incident.PostResolution:
		return "the resolution notice"
	}
	return "the update"
}

// statusPageDroppedText says why a post asked for earlier was not made
// when its turn came (a retry after a Statuspage outage).
func statusPageDroppedText(n incident.Notice, _ wording) string {
	v := n.Values
	var why string
	switch v["why"] {
	case "declined":
		why = fmt.Sprintf("%s was marked not customer-facing after it was asked for", n.Incident)
	case "reopened":
		why = fmt.Sprintf("%s was reopened; post the resolution notice once it is resolved again", n.Incident)
		if v["maybe_resolved"] == "true" {
			why = fmt.Sprintf("%s was reopened", n.Incident)
		}
	case "resolution_posted":
		why = "the resolution notice went out after it was asked for, and an update would reopen the public incident"
	default:
		why = fmt.Sprintf("%s is %s", n.Incident, v["status"])
		switch v["post"] {
		case incident.PostAcknowledge, incident.PostResolution:
			why += ", and no public incident is opened for an incident that is over"
		default:
			why += "; only the resolution notice can still be posted"
		}
	}
	text := fmt.Sprintf(":no_entry_sign: *Nothing was posted on the status page for %s* (%s): %s was dropped because %s.", n.Incident, v["provider"], publicPostName(v["post"]), why)
	if v["maybe_resolved"] == "true" {
		text += fmt.Sprintf(" An earlier attempt may have reached %s before it failed, so the public incident may read resolved: post the update that reopens it, offered here.", v["provider"])
	}
	if v["maybe_opened"] == "true" {
		text += fmt.Sprintf(" An earlier attempt may have reached %s before it failed: if %s is open there, resolve it there.", v["provider"], n.Incident)
	}
	return text
}

func notCustomerFacingText(n incident.Notice, _ wording) string {
	return fmt.Sprintf(":no_entry_sign: %s marked %s not customer-facing: no status page post.", slackUser(n.Actor), n.Incident)
}

func customerEmailText(n incident.Notice, w wording) string {
	why := fmt.Sprintf("%s has been open for %s", n.Incident, n.Values["open_for"])
	if n.Values["concern"] == "true" {
		why = fmt.Sprintf("%s was flagged for a data concern", n.Incident)
	}
	return fmt.Sprintf(":envelope: *Customer e-mail*: %s. %s, send affected customers this e-mail (edit it as needed), then record what you did.\n```%s```",
		why, slackUser(n.User), w.esc(n.Values["body"]))
}

func customerEmailReminderText(n incident.Notice, _ wording) string {
	return fmt.Sprintf("%s needs a customer e-mail: the draft is in <#%s>.", n.Incident, n.Values["channel"])
}

func customerEmailSentText(n incident.Notice, _ wording) string {
	return fmt.Sprintf(":envelope_with_arrow: Customers were told by e-mail at %s (recorded by %s).", n.Values["at"], slackUser(n.Actor))
}

func customerEmailNotNeededText(n incident.Notice, _ wording) string {
	return fmt.Sprintf(":envelope: %s judged a customer e-mail not needed for %s.", slackUser(n.Actor), n.Incident)
}

func dataConcernText(n incident.Notice, _ wording) string {
	return fmt.Sprintf(":lock: %s flagged a data concern on %s: customers get an e-mail.", slackUser(n.Actor), n.Incident)
}
