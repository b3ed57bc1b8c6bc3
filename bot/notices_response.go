package bot

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/firebreakhq/firebreak/incident"
)

// responseWordings word the notices of the response itself: the update
// reminders, the response-time check, the resolution check, the declare's
// timeline lines, the declarer's "is open" and the channel topic.
var responseWordings = map[incident.NoticeKind]wordFunc{
	incident.NoticeNag:                 nagText,
	incident.NoticeNagDirect:           nagDirectText,
	incident.NoticeAckMissed:           ackMissedText,
	incident.NoticeResolutionConfirmed: resolutionConfirmedText,
	incident.NoticeDeclaredFrom:        declaredFromText,
	incident.NoticeDeclared:            declaredText,
	incident.NoticeICNamed:             icNamedText,
	incident.NoticeIncidentOpen:        incidentOpenText,
	incident.NoticeTopic:               topicText,
}

func nagText(n incident.Notice, w wording) string {
	var text string
	if n.User == "" {
		text = fmt.Sprintf(":raising_hand: *%s has no Incident Commander.* Someone take the role with the panel's *I'm the IC* button or `%s ic`, then post an update (none for %s).",
			n.Incident, w.command, w.esc(n.Values["silent"]))
	} else {
		text = fmt.Sprintf(":loudspeaker: %s, *%s needs a status update*: none for %s. Post one, even if it is only \"still investigating, no new findings\".",
			slackUser(n.User), n.Incident, w.esc(n.Values["silent"]))
	}
	level, _ := strconv.Atoi(n.Values["level"])
	switch {
	case n.User == "" && level >= 2:
		// Nobody to message directly: the backup is called a rung early.
		if who := backupOf(n); who != "" {
			text += fmt.Sprintf("\n:rotating_light: %d updates missed and nobody is the IC. %s, please take the role.", level, who)
		} else {
			text += fmt.Sprintf("\n:rotating_light: %d updates missed and nobody is the IC.", level)
		}
	case level >= 3:
		if who := backupOf(n); who != "" {
			text += fmt.Sprintf("\n:rotating_light: %d updates missed. %s, please help the IC or take over.", level, who)
		} else {
			text += fmt.Sprintf("\n:rotating_light: %d updates missed.", level)
		}
		if why := n.Values["dm_failed"]; n.Values["direct"] == "again" && why != "" {
			text += " The IC could not be messaged directly: " + w.esc(incident.EndSentence(why))
		} else if n.Values["direct"] == "again" {
			text += " The IC has been messaged directly again."
		}
	}
	if n.Values["unbacked"] == "true" {
		text += " No commander group is configured, so nobody else is called; set `commander_group` in the policy file to call one."
	}
	if why := n.Values["dm_failed"]; level == 2 && n.User != "" && why != "" {
		text += "\n:warning: Second reminder; the IC could not be messaged directly: " + w.esc(incident.EndSentence(why))
	} else if level == 2 && n.User != "" {
		text += "\n:warning: Second reminder; the IC has been messaged directly."
	}
	return text
}

func nagDirectText(n incident.Notice, w wording) string {
	text := fmt.Sprintf("%s needs a status update: none was posted for %s. Post one in <#%s>, even if it is only \"still investigating\".",
		n.Incident, w.esc(n.Values["silent"]), w.esc(n.Values["channel"]))
	if why := n.Values["undelivered"]; why != "" {
		text += " This reminder is here because the channel would not take it. " + w.esc(why)
	}
	return text
}

func ackMissedText(n incident.Notice, w wording) string {
	v := n.Values
	text := fmt.Sprintf(":alarm_clock: *%s has not been acknowledged* within its %s target for %s (declared %s ago).",
		n.Incident, w.esc(v["target"]), w.esc(v["severity"]), w.esc(v["ago"]))
	if v["raised"] == "true" {
		// The target counts from the raise, not the declare.
		text = fmt.Sprintf(":alarm_clock: *%s has not been acknowledged* within %s of the raise to %s (raised %s ago).",
			n.Incident, w.esc(v["target"]), w.esc(v["severity"]), w.esc(v["ago"]))
	}
	if n.User == "" {
		text += " Nobody has claimed the IC role or acknowledged the page."
	} else {
		text += fmt.Sprintf(" %s is the IC, but nobody has acknowledged the page.", slackUser(n.User))
	}
	if who := backupOf(n); who != "" {
		text += " " + who + ", please respond."
	}
	if pages := v["unacknowledged"]; pages != "" {
		text += fmt.Sprintf(" %s page(s) are still unacknowledged.", w.esc(pages))
	}
	return text
}

func resolutionConfirmedText(n incident.Notice, w wording) string {
	v := n.Values
	text := fmt.Sprintf(":bar_chart: Resolution confirmed by %s: monitors green: %s; error rate at baseline: %s; smoke test: %s",
		slackUser(n.Actor), w.esc(v["monitors"]), w.esc(v["baseline"]), w.esc(v["smoke"]))
	if n.User != "" {
		text += " (by " + slackUser(n.User) + ")"
	}
	text += "."
	if notes := v["notes"]; notes != "" {
		text += " " + w.esc(notes)
	}
	return text
}

func declaredFromText(n incident.Notice, w wording) string {
	text := fmt.Sprintf("Declared from a message by %s in <#%s>", slackUser(n.User), w.esc(n.Values["channel"]))
	if u := n.Values["url"]; u != "" {
		text += ": " + w.esc(u)
	}
	return text
}

func declaredText(n incident.Notice, w wording) string {
	text := fmt.Sprintf("%s declared %s (%s): %s", slackUser(n.Actor), n.Incident, w.esc(n.Values["severity"]), w.esc(n.Values["title"]))
	if n.Values["drill"] == "true" {
		text = "DRILL: " + text
	}
	return text
}

func icNamedText(n incident.Notice, _ wording) string {
	return fmt.Sprintf("%s is the Incident Commander", slackUser(n.User))
}

func incidentOpenText(n incident.Notice, w wording) string {
	return fmt.Sprintf("%s is open: <#%s>", n.Incident, w.esc(n.Values["channel"]))
}

func topicText(n incident.Notice, w wording) string {
	v := n.Values
	ic := "no IC yet"
	if n.User != "" {
		ic = "IC " + slackUser(n.User)
	}
	text := fmt.Sprintf("%s %s | %s | %s | ", n.Incident, w.esc(v["severity"]), w.esc(v["status"]), ic)
	if v["drill"] == "true" {
		text = "DRILL | " + text
	}
	// The title comes last and is what gives way to the topic's limit,
	// cut between entities so the mention before it stays whole.
	return text + clipEscaped(w.esc(v["title"]), maxTopic-utf8.RuneCountInString(text))
}

// backupOf names who backs the IC up: the user group, else the comms lead.
func backupOf(n incident.Notice) string {
	if g := n.Values["group"]; g != "" {
		return slackGroup(g)
	}
	if u := n.Values["backup"]; u != "" {
		return slackUser(u)
	}
	return ""
}
