package bot

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// historyPage is the page size for conversations.history and .replies:
// Tier 3 allows up to 999; a smaller page keeps each call quick.
const historyPage = 200

// ButtonBlocks renders a line of text with buttons under it.
func ButtonBlocks(text string, buttons []incident.Button) []slack.Block {
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwnText(clipRunes(text, maxTextObject)), nil, nil)}
	var els []slack.BlockElement
	for _, b := range buttons {
		btn := slack.NewButtonBlockElement(b.Action, clipRunes(b.Value, 2000), slack.NewTextBlockObject(slack.PlainTextType, clipRunes(b.Text, maxButtonText), false, false))
		switch b.Style {
		case "primary":
			btn.Style = slack.StylePrimary
		case "danger":
			btn.Style = slack.StyleDanger
		}
		els = append(els, btn)
	}
	if len(els) > 0 {
		blocks = append(blocks, slack.NewActionBlock("", els...))
	}
	return blocks
}

// PostButtons posts a line of text with buttons under it.
func (c *Chat) PostButtons(ctx context.Context, channelID, text string, buttons []incident.Button) (string, error) {
	channelID, err := c.named(ctx, channelID)
	if err != nil {
		return "", err
	}
	_, ts, _, err := c.postOnce(ctx, channelID, postKey(ctx, "buttons", channelID+"\n"+text), slack.MsgOptionText(clipRunes(text, maxMessageText), false),
		slack.MsgOptionBlocks(ButtonBlocks(text, buttons)...))
	if err != nil {
		return "", classify("chat.postMessage", "post a message", err)
	}
	return ts, nil
}

// UserEmail returns a user's e-mail address from users.info.
func (c *Chat) UserEmail(ctx context.Context, userID string) (string, error) {
	u, err := c.userInfo(ctx, userID)
	if err != nil {
		return "", err
	}
	return u[0], nil
}

// userInfo returns a user's e-mail and name candidates from users.info,
// cached briefly like other lookups.
func (c *Chat) userInfo(ctx context.Context, userID string) ([]string, error) {
	key := "users.info:" + userID
	if v, ok := c.lookupCache.get(key, c.clock.Now()); ok {
		return v, nil
	}
	u, err := c.api.GetUserInfoContext(ctx, userID)
	if err != nil {
		return nil, classify("users.info", "look up the user", err)
	}
	v := []string{u.Profile.Email, u.Profile.DisplayName, u.RealName, u.Profile.RealName, u.Name}
	c.lookupCache.put(key, v, c.clock.Now())
	return v, nil
}

// UserName returns a user's display name, or their real name.
func (c *Chat) UserName(ctx context.Context, userID string) (string, error) {
	u, err := c.userInfo(ctx, userID)
	if err != nil {
		return "", err
	}
	for _, n := range u[1:] {
		if n != "" {
			return n, nil
		}
	}
	return userID, nil
}

// History reads a channel's messages since oldest, with every thread's
// replies, oldest first. It pages with cursors; rate limits are handled by
// the outbound client and, past its patience, by the job that called this.
func (c *Chat) History(ctx context.Context, channelID string, oldest time.Time) ([]incident.ChatMessage, error) {
	oldestTS := fmt.Sprintf("%d.000000", oldest.Unix())
	// The bot's own posts are already timeline events of their own kinds.
	self, err := c.botID(ctx)
	if err != nil {
		return nil, err
	}
	var out []incident.ChatMessage
	params := &slack.GetConversationHistoryParameters{ChannelID: channelID, Oldest: oldestTS, Limit: historyPage, Inclusive: true}
	var parents []string
	for {
		resp, err := c.api.GetConversationHistoryContext(ctx, params)
		if err != nil {
			return nil, classify("conversations.history", "read the channel history", err)
		}
		for _, m := range resp.Messages {
			if m.ReplyCount > 0 {
				parents = append(parents, m.Timestamp)
			}
			if m.User != self {
				out = append(out, chatMessage(m))
			}
		}
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			break
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
	for _, ts := range parents {
		rp := &slack.GetConversationRepliesParameters{ChannelID: channelID, Timestamp: ts, Limit: historyPage}
		for {
			msgs, hasMore, cursor, err := c.api.GetConversationRepliesContext(ctx, rp)
			if err != nil {
				return nil, classify("conversations.replies", "read a thread", err)
			}
			for _, m := range msgs {
				if m.Timestamp == ts || m.User == self {
					continue // the parent, already read; or the bot itself
				}
				out = append(out, chatMessage(m))
			}
			if !hasMore || cursor == "" {
				break
			}
			rp.Cursor = cursor
		}
	}
	slices.SortStableFunc(out, func(a, b incident.ChatMessage) int { return compareTS(a.TS, b.TS) })
	return out, nil
}

func chatMessage(m slack.Message) incident.ChatMessage {
	cm := incident.ChatMessage{TS: m.Timestamp, ThreadTS: m.ThreadTimestamp, User: m.User, Text: m.Text, Edited: m.Edited != nil}
	if m.BotID != "" {
		// Another app's message, as a classic bot_message or from its
		// bot user: captured and attributed to the app.
		switch {
		case m.BotProfile != nil && m.BotProfile.Name != "":
			cm.App = m.BotProfile.Name
		case m.Username != "":
			cm.App = m.Username
		default:
			cm.App = m.BotID
		}
	}
	if cm.ThreadTS == cm.TS {
		cm.ThreadTS = ""
	}
	for _, r := range m.Reactions {
		cm.Reactions = append(cm.Reactions, r.Name)
	}
	cm.Pinned = len(m.PinnedTo) > 0
	return cm
}

// compareTS orders Slack timestamps ("1700000000.000100") numerically.
func compareTS(a, b string) int {
	fa, _ := strconv.ParseFloat(a, 64)
	fb, _ := strconv.ParseFloat(b, 64)
	switch {
	case fa < fb:
		return -1
	case fa > fb:
		return 1
	}
	return strings.Compare(a, b)
}

// ChangeBlocks renders a "what changed?" list: newest first, each change
// with what, who, when relative to the start and a link; the ones in the
// last 30 minutes before the start highlighted; rollback buttons; and the
// sources that could not be read.
func ChangeBlocks(inc *incident.Incident, list incident.ChangeList, loc *time.Location) []slack.Block {
	window := list.To.Sub(list.From).Round(time.Minute)
	head := fmt.Sprintf(":mag: *What changed?* %d change(s) in the %s before %s started (%s).", len(list.Items),
		humanDuration(window), inc.Key(), slackDateToken(list.Start, loc))
	if len(list.Items) == 0 {
		head = fmt.Sprintf(":mag: *What changed?* No changes recorded in the %s before %s started.", humanDuration(window), inc.Key())
	}
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwnText(head), nil, nil)}
	// 50 blocks in all: header, failures, and two blocks per change.
	max := 22
	for i, it := range list.Items {
		if i == max {
			blocks = append(blocks, slack.NewContextBlock("", mrkdwnText(fmt.Sprintf("…and %d older change(s).", len(list.Items)-max))))
			break
		}
		ch := it.Change
		rel := list.Start.Sub(ch.OccurredAt)
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
		text := fmt.Sprintf("%s %s\n%s · %s · by %s · %s", mark, summary, sourceName(ch.Source), string(ch.Kind), Escape(who), when)
		var accessory *slack.Accessory
		if it.Action != "" {
			btn := slack.NewButtonBlockElement(incident.ActionRollback, clipRunes(it.Value, 2000),
				slack.NewTextBlockObject(slack.PlainTextType, clipRunes(it.Action, maxButtonText), false, false))
			btn.Style = slack.StyleDanger
			accessory = slack.NewAccessory(btn)
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwnText(clipRunes(text, maxTextObject)), nil, accessory))
	}
	for _, f := range list.Failures {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwnText(clipRunes(fmt.Sprintf(":warning: Could not read %s: %s The list above is without it.", Escape(f.Source), Escape(f.Message)), maxTextObject))))
	}
	return blocks
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
func (c *Chat) PostChanges(ctx context.Context, channelID string, inc *incident.Incident, list incident.ChangeList) (string, error) {
	blocks := ChangeBlocks(inc, list, c.policy.Location)
	fallback := fmt.Sprintf("What changed before %s: %d change(s).", inc.Key(), len(list.Items))
	_, ts, _, err := c.postOnce(ctx, channelID, postKey(ctx, "changes", channelID+"\n"+fallback), slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...))
	if err != nil {
		return "", classify("chat.postMessage", "post the list of changes", err)
	}
	return ts, nil
}
