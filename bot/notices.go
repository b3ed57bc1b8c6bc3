package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/firebreakhq/firebreak/incident"
)

// DrillMarker starts every message about a drill, so nobody mistakes
// practice for an outage.
const DrillMarker = ":test_tube: *DRILL*"

// NoticeText words a notice for Slack: mrkdwn, emoji and mentions, with
// every piece of user text escaped once. The broadcast copy names the
// incident first. Commands are named as DefaultCommand; NoticeTextFor
// names the configured one.
func NoticeText(n incident.Notice) string { return NoticeTextFor(n, DefaultCommand) }

// NoticeTextFor is NoticeText naming the slash command as command.
func NoticeTextFor(n incident.Notice, command string) string {
	text := noticeWords(n, Escape, command)
	if n.Broadcast {
		text = "*" + n.Incident + "* " + text
	}
	if n.Drill {
		text = DrillMarker + " " + text
	}
	return text
}

// TimelineText words a notice for the timeline: as said in the channel,
// with user text as typed, which the postmortem quotes.
func TimelineText(n incident.Notice) string {
	return noticeWords(n, func(s string) string { return s }, DefaultCommand)
}

// noticeWords words a notice of any kind, naming the slash command as
// command.
func noticeWords(n incident.Notice, esc func(string) string, command string) string {
	if text, ok := postmortemNoticeText(n, esc, command); ok {
		return text
	}
	if text, ok := responseNoticeText(n, esc, command); ok {
		return text
	}
	return noticeText(n, esc)
}

// noticeText is the one place the notices' Slack wording lives.
func noticeText(n incident.Notice, esc func(string) string) string {
	v := func(k string) string { return n.Values[k] }
	actor, user, prev := slackUser(n.Actor), slackUser(n.User), slackUser(n.Prev)
	switch n.Kind {
	case incident.NoticeICAssigned:
		return fmt.Sprintf(":large_green_circle: %s is now the Incident Commander.", user)
	case incident.NoticeICTakeover:
		return fmt.Sprintf(":arrows_counterclockwise: %s took over as Incident Commander from %s, confirmed in the channel without a handover.", user, prev)
	case incident.NoticeICHandover:
		return fmt.Sprintf(":arrows_counterclockwise: Incident Commander handover: %s → %s (by %s).", prev, user, actor)
	case incident.NoticeRoleAssigned:
		return fmt.Sprintf(":bust_in_silhouette: %s is now the %s lead (by %s).", user, esc(v("role")), actor)
	case incident.NoticeSeverityChanged:
		verb := "lowered"
		if v("raised") == "true" {
			verb = "raised"
		}
		return fmt.Sprintf(":rotating_light: Severity %s from %s to %s (%s) by %s.", verb, v("from"), v("to"), esc(v("label")), actor)
	case incident.NoticeMitigated:
		return fmt.Sprintf(":large_yellow_circle: %s marked the incident mitigated.", actor)
	case incident.NoticeResolved:
		text := fmt.Sprintf(":white_check_mark: %s resolved the incident after %s.", actor, v("after"))
		if s := v("summary"); s != "" {
			text += "\n" + quote(esc(s))
		}
		return text
	case incident.NoticeClosed:
		return fmt.Sprintf(":lock: %s closed the incident.", actor)
	case incident.NoticeReopened:
		return fmt.Sprintf(":warning: %s reopened the incident.", actor)
	case incident.NoticeStatusSet:
		return fmt.Sprintf(":mag: %s set the status to %s.", actor, esc(v("status")))
	case incident.NoticeUpdate:
		var b strings.Builder
		fmt.Fprintf(&b, ":memo: *Status update — %s* (%s · %s · %s) from %s\n", n.Incident, v("severity"), esc(v("label")), esc(v("status")), actor)
		if s := v("known"); s != "" {
			fmt.Fprintf(&b, "*What we know:* %s\n", esc(s))
		}
		if s := v("doing"); s != "" {
			fmt.Fprintf(&b, "*What we are doing:* %s\n", esc(s))
		}
		if v("next") != "" {
			fmt.Fprintf(&b, "*Next update:* in %s (by %s)", v("next"), v("next_at"))
		} else {
			b.WriteString("*Next update:* when there is news")
		}
		return b.String()
	case incident.NoticeNote:
		return fmt.Sprintf(":memo: Note from %s (key event for the postmortem): %s", actor, esc(v("text")))
	case incident.NoticeFollowUp:
		who := "no owner yet"
		if n.User != "" {
			who = "owner " + user
		}
		when := "no due date yet"
		if d := v("due"); d != "" {
			when = "due " + d
		}
		return fmt.Sprintf(":clipboard: Follow-up recorded by %s: %s (%s, %s).", actor, esc(v("text")), who, when)
	case incident.NoticeSnoozed:
		return fmt.Sprintf(":zzz: %s snoozed update reminders until %s.", actor, v("until"))
	case incident.NoticeAlertRepeat:
		return fmt.Sprintf(":repeat: The alert *%s* (%s) fired again (%s times so far).", esc(v("title")), v("source"), v("count"))
	case incident.NoticeAlertRefiring:
		return fmt.Sprintf(":rotating_light: The alert *%s* (%s) that started this is firing again.", esc(v("title")), v("source"))
	case incident.NoticeAlertResolved:
		text := fmt.Sprintf(":large_green_circle: The alert that started this has resolved: *%s* (%s), after %s.", esc(v("title")), v("source"), v("after"))
		if v("open") == "true" {
			text += " Confirm with data (monitors green, error rate at baseline, a smoke test) before resolving."
		}
		return text
	case incident.NoticeAlertStarted:
		how := "declared by " + actor
		if n.Actor == "bot" {
			how = "declared automatically by the policy rule " + esc(v("rule"))
		}
		text := fmt.Sprintf(":bell: Started by the alert *%s* (%s), %s.", esc(v("title")), v("source"), how)
		if u := v("url"); u != "" {
			text += " " + u
		}
		return text
	case incident.NoticeAlertProposal:
		text := fmt.Sprintf(":bell: *Declare %s from this alert?* %s (%s)", v("severity"), esc(v("title")), v("source"))
		if svc := v("service"); svc != "" {
			text += fmt.Sprintf("\nService: %s · %s %s", esc(svc), v("severity"), esc(v("label")))
		}
		if s := v("summary"); s != "" {
			text += "\n" + quote(esc(s))
		}
		if u := v("url"); u != "" {
			text += "\n" + u
		}
		return text
	case incident.NoticeStatusPageDraft:
		return fmt.Sprintf(":mega: *Status page draft for %s* (%s). Customers should hear from us within %s, by %s. Publish it, edit it, or say the incident is not customer-facing.\n%s",
			n.Incident, v("provider"), v("within"), v("by"), blockQuote(esc(v("body"))))
	case incident.NoticeStatusPageNudge:
		return fmt.Sprintf(":hourglass_flowing_sand: %s, *%s is not on the status page yet*: %s left of the %s target. Publish the draft, edit it, or mark the incident not customer-facing.",
			user, n.Incident, v("left"), v("within"))
	case incident.NoticeStatusPageEscalate:
		text := fmt.Sprintf(":rotating_light: *%s: %s without a status page post.* Customers have heard nothing from us. %s", n.Incident, v("after"), user)
		if g := v("group"); g != "" {
			text += ", " + slackGroup(g)
		} else if n.Prev != "" {
			text += ", " + prev
		}
		return text + ", please publish now or mark the incident not customer-facing."
	case incident.NoticeStatusPageReminder:
		return fmt.Sprintf("%s is not on the status page yet (%s since it was declared). Publish the draft in <#%s> or mark it not customer-facing.", n.Incident, v("after"), v("channel"))
	case incident.NoticeStatusPageStale:
		return fmt.Sprintf(":globe_with_meridians: %s, *nothing was posted on the status page for %s* about %s. Post this update?\n%s",
			user, v("quiet"), n.Incident, blockQuote(esc(v("body"))))
	case incident.NoticeStatusPageOffer:
		lead := ":globe_with_meridians: *Also post this update to the status page?*"
		if v("post") == "resolution" {
			lead = fmt.Sprintf(":white_check_mark: *%s is resolved: post the resolution notice on the status page?*", n.Incident)
		}
		return lead + "\n" + blockQuote(esc(v("body")))
	case incident.NoticeStatusPagePosted:
		verb := "Posted an update on the status page"
		switch {
		case v("first") == "true":
			verb = "Posted on the status page"
		case v("post") == "resolution":
			verb = "Posted the resolution notice on the status page"
		}
		by := ""
		if n.Actor != "" && n.Actor != "bot" {
			by = " by " + actor
		}
		where := v("id")
		if u := v("url"); u != "" {
			where = "<" + u + "|" + esc(v("id")) + ">"
		}
		text := fmt.Sprintf(":globe_with_meridians: %s (%s · %s)%s: %s", verb, v("provider"), v("status"), by, where)
		if v("first") == "true" {
			text += fmt.Sprintf(", %s after the declaration", v("after"))
		}
		return text
	case incident.NoticeStatusPageComponents:
		return fmt.Sprintf(":globe_with_meridians: Status page components for %s set to %s.", n.Incident, v("components"))
	case incident.NoticeStatusPageFailed:
		text := fmt.Sprintf(":warning: *The status page post for %s failed* (%s): %s", n.Incident, v("provider"), esc(v("error")))
		switch v("retry") {
		case "final":
			return text + " Retrying cannot fix this; correct it and use Retry."
		case "gave_up":
			return text + " I gave up retrying; use Retry when the status page is back."
		}
		return text + " Retrying in the background; nothing will be posted twice."
	case incident.NoticeNotCustomerFacing:
		return fmt.Sprintf(":no_entry_sign: %s marked %s not customer-facing: no status page post.", actor, n.Incident)
	case incident.NoticeCustomerEmail:
		why := fmt.Sprintf("%s has been open for %s", n.Incident, v("open_for"))
		if v("concern") == "true" {
			why = fmt.Sprintf("%s was flagged for a data concern", n.Incident)
		}
		return fmt.Sprintf(":envelope: *Customer e-mail*: %s. %s, send affected customers this e-mail (edit it as needed), then record what you did.\n```%s```",
			why, user, esc(v("body")))
	case incident.NoticeCustomerEmailReminder:
		return fmt.Sprintf("%s needs a customer e-mail: the draft is in <#%s>.", n.Incident, v("channel"))
	case incident.NoticeCustomerEmailSent:
		return fmt.Sprintf(":envelope_with_arrow: Customers were told by e-mail at %s (recorded by %s).", v("at"), actor)
	case incident.NoticeCustomerEmailNotNeeded:
		return fmt.Sprintf(":envelope: %s judged a customer e-mail not needed for %s.", actor, n.Incident)
	case incident.NoticePageSimulated:
		who := "on-call"
		if v("backup") == "true" {
			who += " and the backup"
		}
		return fmt.Sprintf(":pager: Simulated page: *%s* %s would have been paged in PagerDuty now. Nobody was paged.", esc(v("service")), who)
	case incident.NoticePaged:
		who := esc(v("who"))
		if who == "" {
			who = "on-call"
		}
		if v("backup") == "true" {
			who += " (and the backup)"
		}
		text := fmt.Sprintf(":pager: Paged *%s* in PagerDuty: %s.", esc(v("service")), who)
		if u := v("url"); u != "" {
			text += fmt.Sprintf(" <%s|Open in PagerDuty>", u)
		}
		return text
	case incident.NoticePageFailed:
		text := fmt.Sprintf(":warning: *Paging %s failed*: %s", esc(v("service")), esc(v("error")))
		if v("final") == "true" {
			return text + " Retrying cannot fix this; correct it and use Retry, or page by phone."
		}
		return text + " Retrying in the background."
	case incident.NoticePageAcknowledged:
		who := "someone"
		if n.User != "" {
			who = user
		} else if a := v("agent"); a != "" {
			who = esc(a)
		}
		return fmt.Sprintf(":white_check_mark: Acknowledged by %s in PagerDuty, %s after the page.", who, v("after"))
	case incident.NoticePageAckRefused:
		if e := v("error"); e != "" {
			return "PagerDuty did not accept the acknowledgement: " + esc(e)
		}
		return "I could not read your e-mail address from Slack, so I cannot act as you in PagerDuty. Acknowledge in the PagerDuty app instead."
	case incident.NoticePageEvent:
		if text, ok := pageEventText(n, esc); ok {
			return text
		}
	case incident.NoticeRepage:
		text := fmt.Sprintf(":rotating_light: Nobody acknowledged the page for *%s* within %s", esc(v("service")), esc(v("target")))
		if v("action") != "escalated" {
			return text + ", so I am paging again, with the backup."
		}
		text += ", so I escalated it in PagerDuty to the next level"
		if a := v("assignees"); a != "" {
			text += ", now paging " + esc(a)
		}
		return text + "."
	case incident.NoticeOnCall:
		if e := v("error"); e != "" {
			return "Could not ask PagerDuty who is on call: " + esc(e)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "*On call for %s now*", esc(v("service")))
		if len(n.Items) == 0 {
			b.WriteString("\nNobody is on call in PagerDuty for this service.")
		}
		for _, it := range n.Items {
			b.WriteString("\n" + noticeText(it, esc))
		}
		return b.String()
	case incident.NoticeOnCallLevel:
		line := fmt.Sprintf("• Level %s: %s (%s)", v("level"), esc(v("name")), esc(v("schedule")))
		if u := v("until"); u != "" {
			line += " until " + u
		}
		return line
	case incident.NoticeReviewScheduled:
		text := fmt.Sprintf(":calendar: The postmortem review of %s is due %s (%s business days). Review state: draft.", n.Incident, v("due"), v("days"))
		if n.User != "" {
			text += fmt.Sprintf(" Owner: %s.", user)
		}
		return text
	case incident.NoticeReviewState:
		return fmt.Sprintf(":page_facing_up: %s moved the review of %s from %s to %s.", actor, n.Incident, v("from"), v("to"))
	case incident.NoticeReviewReminder:
		return fmt.Sprintf(":calendar: Reminder: the postmortem review of %s (%s) is due %s; it is %s.", n.Incident, esc(v("title")), v("due"), v("state"))
	case incident.NoticeReviewOverdue:
		return fmt.Sprintf(":warning: The postmortem review of %s (%s) was due %s and is still %s.", n.Incident, esc(v("title")), v("due"), v("state"))
	case incident.NoticeFollowUpDone:
		text := fmt.Sprintf(":white_check_mark: Follow-up done (%s): %s", esc(v("by")), esc(v("text")))
		if u := v("url"); u != "" {
			text += " " + u
		}
		return text
	case incident.NoticeFollowUpDue:
		return fmt.Sprintf(":alarm_clock: Your follow-up from %s is due %s: %s", n.Incident, v("due"), esc(v("text")))
	case incident.NoticeFollowUpOverdue:
		return fmt.Sprintf(":red_circle: Your follow-up from %s was due %s and is overdue: %s", n.Incident, v("due"), esc(v("text")))
	case incident.NoticeFollowUpOverdueIC:
		owner := "no owner"
		if n.User != "" {
			owner = user
		}
		return fmt.Sprintf(":red_circle: A follow-up from %s, which you commanded, is overdue (due %s, %s): %s", n.Incident, v("due"), owner, esc(v("text")))
	case incident.NoticeFollowUpItem:
		owner := "no owner"
		if n.User != "" {
			owner = user
		}
		due := "no due date"
		if d := v("due"); d != "" {
			due = "due " + d
		}
		mark := "•"
		if v("overdue") == "true" {
			mark = ":red_circle: *overdue*"
		}
		if v("private") == "true" {
			return fmt.Sprintf("%s %s: a follow-up (%s, %s)", mark, n.Incident, owner, due)
		}
		line := fmt.Sprintf("%s %s: %s (%s, %s)", mark, n.Incident, esc(v("text")), owner, due)
		if u := v("url"); u != "" {
			line += " " + u
		}
		return line
	case incident.NoticeFollowUpDigest:
		var b strings.Builder
		fmt.Fprintf(&b, ":spiral_note_pad: *Weekly follow-ups, %s* (%s): %s open, %s overdue.", esc(v("team")), v("period"), v("open"), v("overdue"))
		if v("open") == "0" {
			b.WriteString(" Nothing open. :tada:")
		}
		for _, it := range n.Items {
			b.WriteString("\n" + noticeText(it, esc))
		}
		if m := v("more"); m != "" {
			fmt.Fprintf(&b, "\n…and %s more: `followups` lists them all.", m)
		}
		return b.String()
	case incident.NoticeRollbackRequested, incident.NoticeRollbackApproval, incident.NoticeRollbackApproved, incident.NoticeRollbackRetry,
		incident.NoticeRollbackStarted, incident.NoticeRollbackProgress, incident.NoticeRollbackSucceeded, incident.NoticeRollbackFailed,
		incident.NoticeRollbackUnfollowed, incident.NoticeRollbackRule:
		return rollbackText(n, esc)
	case incident.NoticeChangesFailed:
		return "I could not post the list of changes: " + esc(v("error"))
	case incident.NoticeMessage:
		return v("message")
	case incident.NoticeDataConcern:
		return fmt.Sprintf(":lock: %s flagged a data concern on %s: customers get an e-mail.", actor, n.Incident)
	}
	// A kind this version does not know: say the facts rather than nothing.
	return esc(n.String())
}

// pageEventText words what PagerDuty reports on a page; false for an event
// this version does not know.
func pageEventText(n incident.Notice, esc func(string) string) (string, bool) {
	service, agent := esc(n.Values["service"]), esc(n.Values["agent"])
	to := ""
	if a := n.Values["assignees"]; a != "" {
		to = " to " + esc(a)
	}
	switch incident.PageEventKind(n.Values["event"]) {
	case incident.PageUnacknowledged:
		return fmt.Sprintf(":warning: The page for %s is unacknowledged again (the acknowledgement timed out).", service), true
	case incident.PageEscalated:
		return fmt.Sprintf(":arrow_double_up: PagerDuty escalated the page for %s%s.", service, to), true
	case incident.PageReassigned:
		return fmt.Sprintf(":arrows_counterclockwise: %s reassigned the page for %s%s.", agent, service, to), true
	case incident.PageResolved:
		return fmt.Sprintf(":white_check_mark: The page for %s was resolved in PagerDuty by %s.", service, agent), true
	case incident.PageReopened:
		return fmt.Sprintf(":warning: The page for %s was reopened in PagerDuty by %s.", service, agent), true
	}
	return "", false
}

// rollbackText words the rollback notices. The plan, the flag, the
// repository, the environment and the provider's detail all come from
// outside and are escaped.
func rollbackText(n incident.Notice, esc func(string) string) string {
	v := func(k string) string { return n.Values[k] }
	actor, user := slackUser(n.Actor), slackUser(n.User)
	plan := esc(v("plan"))
	link := func(label string) string {
		if v("url") == "" {
			return ""
		}
		return " " + Link(v("url"), label)
	}
	env := esc(v("environment"))
	if env == "" {
		env = "this environment"
	}
	switch n.Kind {
	case incident.NoticeRollbackRequested:
		if v("approval") == "true" {
			return fmt.Sprintf(":raised_hand: %s asked for a rollback: %s It needs a second person's approval.", actor, plan)
		}
		return fmt.Sprintf(":rewind: %s confirmed a rollback: %s", actor, plan)
	case incident.NoticeRollbackApproval:
		return fmt.Sprintf(":raised_hand: %s asked for a rollback: %s\nA rollback in %s needs a second person: someone else among %s must approve before it runs.",
			user, plan, env, whoOf(v("who")))
	case incident.NoticeRollbackApproved:
		return fmt.Sprintf(":white_check_mark: %s approved the rollback %s asked for: %s", actor, user, plan)
	case incident.NoticeRollbackRetry:
		if v("approval") == "true" {
			return fmt.Sprintf(":raised_hand: %s asked to retry the rollback: %s It needs a second person's approval.", actor, plan)
		}
		return fmt.Sprintf(":repeat: %s is retrying the rollback: %s", actor, plan)
	case incident.NoticeRollbackStarted:
		if v("dry_run") == "true" {
			return fmt.Sprintf(":rewind: Dry run for %s: this would have rolled back now: %s Nothing was changed.", actor, plan)
		}
		text := fmt.Sprintf(":rewind: Rolling back on behalf of %s: %s%s", actor, plan, link("Follow it"))
		if n.User != "" {
			text += fmt.Sprintf(" (approved by %s)", user)
		}
		return text
	case incident.NoticeRollbackProgress:
		return fmt.Sprintf(":hourglass_flowing_sand: Rollback of %s is in progress.%s", rollbackSubject(n, esc), link("Follow it"))
	case incident.NoticeRollbackSucceeded:
		text := fmt.Sprintf(":white_check_mark: Rollback of %s succeeded in %s, requested by %s.", rollbackSubject(n, esc), v("after"), user)
		if d := v("detail"); d != "" {
			text += " " + esc(d)
		}
		return text + link("Details")
	case incident.NoticeRollbackFailed:
		detail := esc(v("detail"))
		if detail == "" {
			detail = "the provider reported a failure."
		}
		return fmt.Sprintf(":x: *Rollback of %s failed*: %s%s\nRetry once the cause is fixed, or roll back by hand.", rollbackSubject(n, esc), detail, link("Details"))
	case incident.NoticeRollbackUnfollowed:
		return fmt.Sprintf(":warning: I stopped checking the rollback of %s after %s; it had not finished.%s", rollbackSubject(n, esc), v("after"), link("Follow it there"))
	case incident.NoticeRollbackRule:
		who := whoOf(v("who"))
		if who == "" {
			who = "nobody: the policy names no owners"
		}
		text := "Only " + who + " may confirm."
		if v("approval") == "true" {
			text += fmt.Sprintf(" A rollback in %s while a %s incident is involved needs a second person's approval before anything runs.", env, v("severity"))
		}
		return text
	}
	return esc(n.String())
}

// rollbackSubject names what a rollback undoes: the flag, the repository
// and the commit deployed back, or the plan.
func rollbackSubject(n incident.Notice, esc func(string) string) string {
	v := func(k string) string { return esc(n.Values[k]) }
	switch {
	case v("flag") != "":
		return fmt.Sprintf("flag %s in %s", v("flag"), v("environment"))
	case v("repo") != "":
		return fmt.Sprintf("%s in %s to %s", v("repo"), v("environment"), v("to"))
	}
	return strings.TrimSuffix(v("plan"), ".")
}

// whoOf names the policy references of a comma-separated list, users and
// user groups by mention.
func whoOf(refs string) string {
	var ps []incident.Principal
	for _, r := range strings.Split(refs, ",") {
		if r = strings.TrimSpace(r); r != "" {
			ps = append(ps, incident.Principal{Kind: incident.PrincipalRef, ID: r})
		}
	}
	return incident.WhoList(ps, slackUser, slackGroup)
}

// quote makes mrkdwn quote lines of text.
func quote(text string) string {
	return ">" + strings.ReplaceAll(text, "\n", "\n>")
}

// blockQuote quotes the rest of the message.
func blockQuote(text string) string {
	return ">>> " + strings.TrimSpace(text)
}

// slackUser mentions a user; the bot itself is named.
func slackUser(id string) string {
	if id == "" || id == "bot" {
		return "firebreak"
	}
	return "<@" + id + ">"
}

// Tell says a notice to one person, privately.
func (c *Chat) Tell(ctx context.Context, to incident.ReplyTarget, n incident.Notice) error {
	return c.Reply(ctx, to, c.noticeText(n))
}

// noticeText words n naming the configured slash command.
func (c *Chat) noticeText(n incident.Notice) string {
	command := c.policy.Command
	if command == "" {
		command = DefaultCommand
	}
	return NoticeTextFor(n, command)
}

// Notify says a notice in a channel, with its buttons under it.
func (c *Chat) Notify(ctx context.Context, channelID string, n incident.Notice) (string, error) {
	if len(n.Buttons) > 0 {
		return c.PostButtons(ctx, channelID, c.noticeText(n), n.Buttons)
	}
	id, err := c.channelID(ctx, channelID)
	if err != nil {
		return "", err
	}
	// Posted once per job run like any line, however often it is retried.
	return c.Post(ctx, id, c.noticeText(n))
}
