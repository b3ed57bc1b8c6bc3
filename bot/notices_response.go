package bot

import (
	"fmt"
	"strconv"

	"github.com/firebreakhq/firebreak/incident"
)

// responseNoticeText words the notices of the response itself: the update
// reminders, the response-time check, the resolution check, the declare's
// timeline lines, the declarer's "is open" and the channel topic. ok is
// false for any other kind.
func responseNoticeText(n incident.Notice, esc func(string) string, command string) (text string, ok bool) {
	v := func(k string) string { return n.Values[k] }
	switch n.Kind {
	case incident.NoticeNag:
		if n.User == "" {
			text = fmt.Sprintf(":raising_hand: *%s has no Incident Commander.* Someone take the role with the panel's *I'm the IC* button or `%s ic`, then post an update (none for %s).",
				n.Incident, command, esc(v("silent")))
		} else {
			text = fmt.Sprintf(":loudspeaker: %s, *%s needs a status update*: none for %s. Post one, even if it is only \"still investigating, no new findings\".",
				slackUser(n.User), n.Incident, esc(v("silent")))
		}
		level, _ := strconv.Atoi(v("level"))
		switch {
		case level >= 3:
			if who := backupOf(n); who != "" {
				text += fmt.Sprintf("\n:rotating_light: %d updates missed. %s, please help the IC or take over.", level, who)
			} else {
				text += fmt.Sprintf("\n:rotating_light: %d updates missed.", level)
			}
		case level == 2:
			text += "\n:warning: Second reminder; the IC has been messaged directly."
		}
		return text, true
	case incident.NoticeNagDirect:
		return fmt.Sprintf("%s needs a status update: none was posted for %s. Post one in <#%s>, even if it is only \"still investigating\".",
			n.Incident, esc(v("silent")), esc(v("channel"))), true
	case incident.NoticeAckMissed:
		text = fmt.Sprintf(":alarm_clock: *%s has not been acknowledged* within its %s target for %s (declared %s ago).",
			n.Incident, esc(v("target")), esc(v("severity")), esc(v("ago")))
		if n.User == "" {
			text += " Nobody has claimed the IC role or acknowledged the page."
		} else {
			text += fmt.Sprintf(" %s is the IC, but nobody has acknowledged the page.", slackUser(n.User))
		}
		if who := backupOf(n); who != "" {
			text += " " + who + ", please respond."
		}
		if pages := v("unacknowledged"); pages != "" {
			text += fmt.Sprintf(" %s page(s) are still unacknowledged.", esc(pages))
		}
		return text, true
	case incident.NoticeResolutionConfirmed:
		text = fmt.Sprintf(":bar_chart: Resolution confirmed by %s: monitors green: %s; error rate at baseline: %s; smoke test: %s",
			slackUser(n.Actor), esc(v("monitors")), esc(v("baseline")), esc(v("smoke")))
		if n.User != "" {
			text += " (by " + slackUser(n.User) + ")"
		}
		text += "."
		if notes := v("notes"); notes != "" {
			text += " " + esc(notes)
		}
		return text, true
	case incident.NoticeDeclaredFrom:
		text = fmt.Sprintf("Declared from a message by %s in <#%s>", slackUser(n.User), esc(v("channel")))
		if u := v("url"); u != "" {
			text += ": " + esc(u)
		}
		return text, true
	case incident.NoticeDeclared:
		text = fmt.Sprintf("%s declared %s (%s): %s", slackUser(n.Actor), n.Incident, esc(v("severity")), esc(v("title")))
		if v("drill") == "true" {
			text = "DRILL: " + text
		}
		return text, true
	case incident.NoticeICNamed:
		return fmt.Sprintf("%s is the Incident Commander", slackUser(n.User)), true
	case incident.NoticeIncidentOpen:
		return fmt.Sprintf("%s is open: <#%s>", n.Incident, esc(v("channel"))), true
	case incident.NoticeTopic:
		ic := "no IC yet"
		if n.User != "" {
			ic = "IC " + slackUser(n.User)
		}
		text = fmt.Sprintf("%s %s | %s | %s | %s", n.Incident, esc(v("severity")), esc(v("status")), ic, esc(v("title")))
		if v("drill") == "true" {
			text = "DRILL | " + text
		}
		return text, true
	}
	return "", false
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
