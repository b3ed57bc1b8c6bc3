package bot

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// chatChanges posts the list of changes with its rollback buttons
// (incident.ChangePoster).
type chatChanges struct{ *slackConn }

// ChangeBlocks renders a "what changed?" list: newest first, each change
// with what, who, when relative to the start and a link; the ones in the
// last 30 minutes before the start highlighted; rollback buttons; what the
// sources read only the newest of; and the sources that could not be read.
// It shows the newest changes that fit in one message, in blocks (50) and
// in the text of its blocks together (maxBlocksText: Slack refuses the
// whole message past it), and says how many older ones it leaves out.
func ChangeBlocks(inc *incident.Incident, list incident.ChangeList, loc *time.Location) []slack.Block {
	window := list.To.Sub(list.From).Round(time.Minute)
	head := fmt.Sprintf(":mag: *What changed?* %d change(s) in the %s before %s started (%s).", len(list.Items)+list.Omitted,
		humanDuration(window), inc.Key(), slackDateToken(list.Start, loc))
	if len(list.Items) == 0 {
		head = fmt.Sprintf(":mag: *What changed?* No changes recorded in the %s before %s started.", humanDuration(window), inc.Key())
	}
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwnText(head), nil, nil)}
	used := utf8.RuneCountInString(head)

	var tail []slack.Block
	addTail := func(text string) {
		text = clipRunes(text, maxTextObject)
		tail = append(tail, slack.NewContextBlock("", mrkdwnText(text)))
		used += utf8.RuneCountInString(text)
	}
	if cuts := cutLines(list.Cuts); cuts != "" {
		addTail(cuts)
	}
	for _, f := range list.Failures {
		addTail(fmt.Sprintf(":warning: Could not read %s: %s The list above is without it.", Escape(f.Source), Escape(f.Message)))
	}

	// 50 blocks in all: header, one per change, the count of older ones,
	// cuts and failures.
	const maxItems = 22
	older := func(n int) string { return fmt.Sprintf("…and %d older change(s).", n) }
	reserve := utf8.RuneCountInString(older(len(list.Items) + list.Omitted))
	shown := 0
	for _, it := range list.Items {
		if shown == maxItems {
			break
		}
		block, n := changeSection(list.Start, it)
		if used+n+reserve > maxBlocksText {
			break
		}
		blocks = append(blocks, block)
		used += n
		shown++
	}
	if n := len(list.Items) - shown + list.Omitted; n > 0 {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwnText(older(n))))
	}
	return append(blocks, tail...)
}

// changeSection renders one change of the list, with its rollback button
// if it has one, and counts the characters of text it adds to the message.
func changeSection(start time.Time, it incident.ChangeItem) (slack.Block, int) {
	ch := it.Change
	rel := start.Sub(ch.OccurredAt)
	when := fmt.Sprintf("%s before start", humanDuration(rel.Round(time.Minute)))
	if rel < 0 {
		when = fmt.Sprintf("%s after start", humanDuration((-rel).Round(time.Minute)))
	}
	mark := ":small_blue_diamond:"
	if it.Highlight {
		mark = ":large_orange_diamond: *in the 30 min before the start*"
	}
	summary := Escape(ch.Summary)
	if ch.URL != "" {
		summary = Link(ch.URL, ch.Summary)
	}
	who := ch.Actor
	if who == "" {
		who = "unknown"
	}
	text := clipRunes(fmt.Sprintf("%s %s\n%s · %s · by %s · %s", mark, summary, sourceName(ch.Source), string(ch.Kind), Escape(who), when), maxTextObject)
	n := utf8.RuneCountInString(text)
	var accessory *slack.Accessory
	if it.Action != "" {
		label := clipRunes(it.Action, maxButtonText)
		btn := slack.NewButtonBlockElement(incident.ActionRollback, clipRunes(it.Value, 2000),
			slack.NewTextBlockObject(slack.PlainTextType, label, false, false))
		btn.Style = slack.StyleDanger
		accessory = slack.NewAccessory(btn)
		n += utf8.RuneCountInString(label)
	}
	return slack.NewSectionBlock(mrkdwnText(text), nil, accessory), n
}

// cutLines says, one line each, what a source read only the newest of,
// so the newest are not taken for all the changes in the window.
func cutLines(cuts []incident.SourceCut) string {
	var lines []string
	for _, c := range cuts {
		lines = append(lines, fmt.Sprintf(":warning: %s: showing the newest %d %s of more in this window; older ones are not listed.",
			Escape(c.Source), c.Read, Escape(c.What)))
	}
	return strings.Join(lines, "\n")
}

func sourceName(s string) string { return incident.ProviderName(s) }

func humanDuration(d time.Duration) string {
	if d < time.Minute {
		return "under a minute"
	}
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h == 0:
		return fmt.Sprintf("%d min", m)
	case m == 0:
		return fmt.Sprintf("%d h", h)
	default:
		return fmt.Sprintf("%d h %d min", h, m)
	}
}

// PostChanges posts a "what changed?" list in the channel.
func (c *chatChanges) PostChanges(ctx context.Context, channelID string, inc *incident.Incident, list incident.ChangeList) (string, error) {
	blocks := ChangeBlocks(inc, list, c.policy.Location)
	fallback := fmt.Sprintf("What changed before %s: %d change(s).", inc.Key(), len(list.Items)+list.Omitted)
	if len(list.Cuts) > 0 {
		fallback += " Older ones are not all listed."
	}
	_, ts, _, err := c.postOnce(ctx, channelID, postKey(ctx, "changes", channelID+"\n"+fallback), time.Time{}, slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...))
	if err != nil {
		return "", classifyIn(ctx, "chat.postMessage", "post the list of changes", err)
	}
	return ts, nil
}
