package bot

import (
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
	text := noticeWords(n, wording{esc: Escape, markup: slackMarkup, command: command})
	if n.Broadcast {
		text = "*" + n.Incident + "* " + text
	}
	if n.Drill {
		text = DrillMarker + " " + text
	}
	return text
}

// TimelineText words a notice for the timeline: as said in the channel,
// with user text as typed and words stored in Slack's markup as stored,
// which the postmortem quotes.
func TimelineText(n incident.Notice) string {
	same := func(s string) string { return s }
	return noticeWords(n, wording{esc: same, markup: same, command: DefaultCommand})
}

// wording is what a notice's words depend on besides the notice: how user
// text is escaped (once for Slack, not at all for the timeline), how
// words stored in Slack's markup are rendered (slackMarkup for Slack, as
// stored for the timeline), and the slash command's name.
type wording struct {
	esc     func(string) string
	markup  func(string) string
	command string
}

// word words a notice of any kind the same way, for the entries of a list.
func (w wording) word(n incident.Notice) string { return noticeWords(n, w) }

// wordFunc words one kind of notice.
type wordFunc func(n incident.Notice, w wording) string

// noticeWordings is the one place the notices' Slack wording is looked up:
// a wording function for every kind declared in package incident, gathered
// from the tables of each feature (notices_*.go).
var noticeWordings map[incident.NoticeKind]wordFunc

func init() {
	noticeWordings = map[incident.NoticeKind]wordFunc{}
	for _, table := range []map[incident.NoticeKind]wordFunc{lifecycleWordings, alertWordings, commsWordings, pagingWordings,
		followThroughWordings, rollbackWordings, postmortemWordings, responseWordings, inviteWordings} {
		for kind, f := range table {
			if _, dup := noticeWordings[kind]; dup {
				panic("bot: two wordings for the notice kind " + string(kind))
			}
			noticeWordings[kind] = f
		}
	}
}

// noticeWords words a notice of any kind as w says.
func noticeWords(n incident.Notice, w wording) string {
	if f, ok := noticeWordings[n.Kind]; ok {
		return f(n, w)
	}
	return unknownNoticeText(n, w.esc)
}

// unknownNoticeText says the facts of a notice this version cannot word,
// rather than nothing.
func unknownNoticeText(n incident.Notice, esc func(string) string) string {
	return esc(n.String())
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

// noticeText words n naming the configured slash command.
func (c *slackConn) noticeText(n incident.Notice) string {
	command := c.policy.Command
	if command == "" {
		command = DefaultCommand
	}
	return NoticeTextFor(n, command)
}
