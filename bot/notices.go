package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// NoticeText words a notice for Slack: mrkdwn, emoji and mentions, with
// every piece of user text escaped once. The broadcast copy names the
// incident first.
func NoticeText(n incident.Notice) string {
	text := noticeText(n, Escape)
	if n.Broadcast {
		text = "*" + n.Incident + "* " + text
	}
	if n.Drill {
		text = incident.DrillMarker + " " + text
	}
	return text
}

// TimelineText words a notice for the timeline: as said in the channel,
// with user text as typed, which the postmortem quotes.
func TimelineText(n incident.Notice) string {
	return noticeText(n, func(s string) string { return s })
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
			text += "\n>" + strings.ReplaceAll(esc(s), "\n", "\n>")
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
	}
	// A kind this version does not know: say the facts rather than nothing.
	return esc(n.String())
}

// slackUser mentions a user; the bot itself is named.
func slackUser(id string) string {
	if id == "" || id == "bot" {
		return "firebreak"
	}
	return "<@" + id + ">"
}

// Notify says a notice in a channel.
func (c *Chat) Notify(ctx context.Context, channelID string, n incident.Notice) (string, error) {
	id, err := c.channelID(ctx, channelID)
	if err != nil {
		return "", err
	}
	_, ts, err := c.api.PostMessageContext(ctx, id, slack.MsgOptionText(clipRunes(NoticeText(n), maxMessageText), false))
	if err != nil {
		return "", classify("chat.postMessage", "say "+string(n.Kind)+" in the channel", err)
	}
	return ts, nil
}
