package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// Usage and summary lines of the timeline subcommands, for the command
// table.
const (
	noteUsage       = "note <text>"
	noteSummary     = "Add a key event to the incident's timeline, for the postmortem."
	followUpUsage   = "followup <text> [@owner] [due YYYY-MM-DD]"
	followUpSummary = "Record an action item, with an owner and a due date."
)

// dueDateRE matches a due date as people type it: YYYY-MM-DD.
var dueDateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// captureHandlers keep the incident channel on the timeline: its
// messages with their edits and deletions, pins and key reactions, and the
// note and follow-up commands. The events reach here already deduplicated
// on event_id by the event job's key; the domain deduplicates messages on
// their ts.
type captureHandlers struct {
	kit     *kit
	capture CaptureService
}

func (c *captureHandlers) table() table {
	return table{
		commands: []command{
			{name: "note", usage: noteUsage, summary: noteSummary, run: c.noteCommand},
			{name: "followup", usage: followUpUsage, summary: followUpSummary, run: c.followupCommand},
		},
		events: map[string]EventHandler{
			"message":          c.onMessage,
			"pin_added":        c.onPin,
			"pin_removed":      c.onPin,
			"reaction_added":   c.onReaction,
			"reaction_removed": c.onReaction,
		},
	}
}

// captureEnvelope is the part of an Events API envelope capture reads: who
// the bot is, to leave its own messages out.
type captureEnvelope struct {
	APIAppID       string `json:"api_app_id"`
	EventID        string `json:"event_id"`
	Authorizations []struct {
		UserID string `json:"user_id"`
		IsBot  bool   `json:"is_bot"`
	} `json:"authorizations"`
	Event json.RawMessage `json:"event"`
}

// botUser is the bot's own user id, from the envelope's authorizations.
func (e captureEnvelope) botUser() string {
	for _, a := range e.Authorizations {
		if a.IsBot {
			return a.UserID
		}
	}
	return ""
}

// slackMessage is a message event, or the message inside a
// message_changed, message_deleted or pin_added event.
type slackMessage struct {
	Type       string `json:"type"`
	Subtype    string `json:"subtype"`
	Channel    string `json:"channel"`
	User       string `json:"user"`
	BotID      string `json:"bot_id"`
	AppID      string `json:"app_id"`
	Username   string `json:"username"`
	BotProfile *struct {
		AppID string `json:"app_id"`
		Name  string `json:"name"`
	} `json:"bot_profile"`
	Text      string `json:"text"`
	TS        string `json:"ts"`
	ThreadTS  string `json:"thread_ts"`
	DeletedTS string `json:"deleted_ts"`
	Edited    *struct {
		User string `json:"user"`
		TS   string `json:"ts"`
	} `json:"edited"`
	Message         *slackMessage `json:"message"`
	PreviousMessage *slackMessage `json:"previous_message"`
	// Files are the files the message shares (a "file_share" message, or
	// any message with files); a file Slack no longer shows has only its
	// id and a mode ("tombstone", "hidden_by_limit").
	Files []slackFile `json:"files"`
}

// slackFile is the part of a file object capture reads
// (https://docs.slack.dev/reference/objects/file-object).
type slackFile struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Title string `json:"title"`
	Mode  string `json:"mode"`
}

// sharedFile is a file as the domain reads it: named by its title, else by
// its file name.
func sharedFile(title, name, mode string) incident.SharedFile {
	if strings.TrimSpace(title) == "" {
		title = name
	}
	return incident.SharedFile{Name: strings.TrimSpace(title), Mode: mode}
}

// files are the files m shares, nil for none.
func (m *slackMessage) files() []incident.SharedFile {
	if m == nil || len(m.Files) == 0 {
		return nil
	}
	out := make([]incident.SharedFile, 0, len(m.Files))
	for _, f := range m.Files {
		out = append(out, sharedFile(f.Title, f.Name, f.Mode))
	}
	return out
}

// own reports whether the bot posted the message: its user is the bot's
// user, or its app is the app the event was sent to. The bot's lines are
// already on the timeline as its own events. A bot_id without an app id is
// not ours: it is a classic integration's bot_message (Slack's documented
// shape, https://docs.slack.dev/reference/events/message/bot_message), which
// is captured and attributed to the app as backfill does, while everything
// the bot posts carries its user and its app id.
func (e captureEnvelope) own(m *slackMessage) bool {
	if m == nil {
		return false
	}
	if bot := e.botUser(); bot != "" && m.User == bot {
		return true
	}
	app := m.AppID
	if app == "" && m.BotProfile != nil {
		app = m.BotProfile.AppID
	}
	return app != "" && app == e.APIAppID
}

// app names the other app that posted m, or "" for a person's message:
// the bot profile's name, else the name a classic bot_message was posted
// under, else the bot id. The bot's own messages never get here.
func (m *slackMessage) app() string {
	if m == nil || m.BotID == "" {
		return ""
	}
	if m.BotProfile != nil && m.BotProfile.Name != "" {
		return m.BotProfile.Name
	}
	if m.Username != "" {
		return m.Username
	}
	return m.BotID
}

// editedTS is the ts of m's last edit, "" when it has none.
func (m *slackMessage) editedTS() string {
	if m == nil || m.Edited == nil {
		return ""
	}
	return m.Edited.TS
}

func parseCapture(raw []byte, inner any) (captureEnvelope, error) {
	var env captureEnvelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return env, fmt.Errorf("decode event envelope: %w: %w", err, incident.ErrJobCancel)
	}
	if err := json.Unmarshal(env.Event, inner); err != nil {
		return env, fmt.Errorf("decode event %s: %w: %w", env.EventID, err, incident.ErrJobCancel)
	}
	return env, nil
}

// onMessage captures a message, an edit or a deletion in an incident
// channel (message.channels and message.groups deliver them alike).
func (c *captureHandlers) onMessage(ctx context.Context, _ string, raw []byte) error {
	var ev slackMessage
	env, err := parseCapture(raw, &ev)
	if err != nil {
		return err
	}
	m := incident.CapturedMessage{ChannelID: ev.Channel, Subtype: ev.Subtype, EventID: env.EventID}
	switch ev.Subtype {
	case incident.SubtypeChanged:
		if ev.Message == nil || env.own(ev.Message) {
			return nil
		}
		cur := ev.Message
		m.TS, m.ThreadTS, m.User, m.Text, m.App, m.Files = cur.TS, cur.ThreadTS, cur.User, cur.Text, cur.app(), cur.files()
		// The message's own subtype tells a deleted thread parent's
		// tombstone from an edit; the edit's ts orders edits Slack
		// delivers out of order.
		m.MessageSubtype, m.Edited, m.EditedTS = cur.Subtype, cur.Edited != nil, cur.editedTS()
	case incident.SubtypeDeleted:
		m.TS = ev.DeletedTS
		if prev := ev.PreviousMessage; prev != nil {
			if env.own(prev) {
				return nil
			}
			if m.TS == "" {
				m.TS = prev.TS
			}
			m.ThreadTS, m.User, m.Text, m.App, m.MessageSubtype = prev.ThreadTS, prev.User, prev.Text, prev.app(), prev.Subtype
			m.Files = prev.files()
		}
	default:
		m.TS, m.ThreadTS, m.User, m.Text, m.Bot, m.Files = ev.TS, ev.ThreadTS, ev.User, ev.Text, env.own(&ev), ev.files()
		if !m.Bot {
			m.App = ev.app()
		}
	}
	if err := c.capture.CaptureMessage(ctx, m); err != nil {
		return fmt.Errorf("capture message: %w", err)
	}
	return nil
}

// pinEvent is a pin_added or pin_removed event
// (https://docs.slack.dev/reference/events/pin_added,
// https://docs.slack.dev/reference/events/pin_removed). A pin_removed's
// has_pins says whether the channel has other pins left, not whether this
// message does, so it is not read.
type pinEvent struct {
	User      string `json:"user"`
	ChannelID string `json:"channel_id"`
	Item      struct {
		Type    string        `json:"type"`
		Channel string        `json:"channel"`
		Message *slackMessage `json:"message"`
	} `json:"item"`
	EventTS string `json:"event_ts"`
}

// onPin marks a pinned message as a key event, or takes the pin's mark
// back when it is unpinned (in the order of the events' event_ts). A pin
// carries the message, so it is captured too, in case its own delivery was
// missed. The bot's own pins (its control panel) mark nothing.
func (c *captureHandlers) onPin(ctx context.Context, typ string, raw []byte) error {
	var ev pinEvent
	env, err := parseCapture(raw, &ev)
	if err != nil {
		return err
	}
	msg := ev.Item.Message
	if ev.Item.Type != "message" || msg == nil || msg.TS == "" {
		return nil // a pinned file or an unknown item
	}
	if bot := env.botUser(); (bot != "" && ev.User == bot) || env.own(msg) {
		return nil // the bot pinning its panel, or anyone pinning a bot line
	}
	channel := ev.ChannelID
	if channel == "" {
		channel = ev.Item.Channel
	}
	removed := typ == "pin_removed"
	if !removed {
		m := incident.CapturedMessage{ChannelID: channel, TS: msg.TS, ThreadTS: msg.ThreadTS, User: msg.User, Text: msg.Text,
			Subtype: msg.Subtype, EventID: env.EventID, Edited: msg.Edited != nil, EditedTS: msg.editedTS(), App: msg.app(), Files: msg.files()}
		if err := c.capture.CaptureMessage(ctx, m); err != nil {
			return fmt.Errorf("capture pinned message: %w", err)
		}
	}
	km := incident.KeyMark{ChannelID: channel, TS: msg.TS, Pin: true, User: ev.User, Removed: removed, EventTS: ev.EventTS}
	if err := c.capture.CaptureMark(ctx, km); err != nil {
		return fmt.Errorf("capture %s: %w", typ, err)
	}
	return nil
}

// reactionEvent is a reaction_added or reaction_removed event
// (https://docs.slack.dev/reference/events/reaction_added,
// https://docs.slack.dev/reference/events/reaction_removed).
type reactionEvent struct {
	User     string `json:"user"`
	Reaction string `json:"reaction"`
	ItemUser string `json:"item_user"`
	Item     struct {
		Type    string `json:"type"`
		Channel string `json:"channel"`
		TS      string `json:"ts"`
	} `json:"item"`
	EventTS string `json:"event_ts"`
}

// onReaction marks a message as a key event when the reaction is the
// policy's key reaction, and takes that person's mark back when they
// remove it; the domain ignores other reactions.
func (c *captureHandlers) onReaction(ctx context.Context, typ string, raw []byte) error {
	var ev reactionEvent
	env, err := parseCapture(raw, &ev)
	if err != nil {
		return err
	}
	if ev.Item.Type != "message" {
		return nil
	}
	if bot := env.botUser(); bot != "" && (ev.ItemUser == bot || ev.User == bot) {
		return nil // a reaction to one of the bot's lines, already on the timeline
	}
	km := incident.KeyMark{ChannelID: ev.Item.Channel, TS: ev.Item.TS, Reaction: ev.Reaction, User: ev.User,
		Removed: typ == "reaction_removed", EventTS: ev.EventTS}
	if err := c.capture.CaptureMark(ctx, km); err != nil {
		return fmt.Errorf("capture %s: %w", typ, err)
	}
	return nil
}

// noteCommand is "/incident note <text>".
func (c *captureHandlers) noteCommand(ctx context.Context, inv Invocation) (Reply, error) {
	if inv.Args == "" {
		return Reply{}, incident.Errorf(incident.EINVALID, "Say what to note, such as `note rolled back the 14:02 deploy`.")
	}
	inc, err := c.kit.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	if err := c.capture.AddNote(ctx, inc.ID, inv.Cmd.UserID, inv.Args); err != nil {
		return Reply{}, err
	}
	return ephemeral("Noted on the %s timeline as a key event for the postmortem.", inc.Key()), nil
}

// followUp is what "/incident followup ..." says.
type followUp struct {
	text  string
	owner string
	due   *time.Time
}

// parseFollowUp reads "<text> [@owner] [due YYYY-MM-DD]": the owner and the
// due date are taken from the end, in either order, so a mention inside the
// text stays part of it. The date is a day in loc.
func parseFollowUp(args string, loc *time.Location) (followUp, error) {
	var f followUp
	words := strings.Fields(args)
	for len(words) > 0 {
		last := words[len(words)-1]
		switch {
		case len(words) >= 2 && strings.EqualFold(words[len(words)-2], "due") && f.due == nil:
			if !dueDateRE.MatchString(last) {
				return f, incident.Errorf(incident.EINVALID, "Write the due date as YYYY-MM-DD, such as `due 2026-03-21`.")
			}
			d, err := time.ParseInLocation("2006-01-02", last, loc)
			if err != nil {
				return f, incident.Errorf(incident.EINVALID, "%s is not a date; write it as YYYY-MM-DD.", last)
			}
			f.due = &d
			words = words[:len(words)-2]
			continue
		case strings.HasPrefix(last, "<@") && f.owner == "":
			owner, err := parseUser(last)
			if err != nil {
				return f, err
			}
			f.owner = owner
			words = words[:len(words)-1]
			continue
		case strings.EqualFold(last, "due") && f.due == nil:
			return f, incident.Errorf(incident.EINVALID, "Say when it is due, such as `due 2026-03-21`.")
		}
		break
	}
	f.text = strings.Join(words, " ")
	if f.text == "" {
		return f, incident.Errorf(incident.EINVALID, "Say what needs doing, such as `followup alert when the pool is over 80%% @jane due 2026-03-21`.")
	}
	return f, nil
}

// followupCommand is "/incident followup <text> [@owner] [due YYYY-MM-DD]".
func (c *captureHandlers) followupCommand(ctx context.Context, inv Invocation) (Reply, error) {
	f, err := parseFollowUp(inv.Args, c.kit.policy().Location)
	if err != nil {
		return Reply{}, err
	}
	inc, err := c.kit.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	if _, err := c.capture.AddFollowUp(ctx, inc.ID, inv.Cmd.UserID, f.text, f.owner, f.due); err != nil {
		return Reply{}, err
	}
	var missing []string
	if f.owner == "" {
		missing = append(missing, "owner")
	}
	if f.due == nil {
		missing = append(missing, "due date")
	}
	if len(missing) > 0 {
		return ephemeral("Follow-up recorded for %s. It has no %s yet; the postmortem will flag it.", inc.Key(), strings.Join(missing, " and no ")), nil
	}
	return ephemeral("Follow-up recorded for %s.", inc.Key()), nil
}
