package capture

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/firebreakhq/firebreak/incident"
)

// Store is what capture needs of the incident store.
type Store interface {
	GetIncident(ctx context.Context, id int64) (*incident.Incident, error)
	GetIncidentByChannel(ctx context.Context, channelID string) (*incident.Incident, error)
	AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error
	UpdateTimelineEvent(ctx context.Context, incidentID int64, sourceID string, fn func(*incident.TimelineEvent) error) (*incident.TimelineEvent, error)
	ListTimeline(ctx context.Context, incidentID int64) ([]incident.TimelineEvent, error)
	AddActionItem(ctx context.Context, a *incident.ActionItem) error
}

// Notifier says notices in an incident's channel; the core
// (*incident.Service) does it through its durable sync job.
type Notifier interface {
	Notify(ctx context.Context, inc *incident.Incident, notices ...incident.Notice) error
}

// Config holds the Service's dependencies.
type Config struct {
	Store Store
	// Chat reads a channel back for Backfill.
	Chat     incident.ChatHistory
	Notifier Notifier
	// Policy gives the key reaction and the time zone of due dates; zero
	// means the default policy.
	Policy incident.Policy
	Clock  incident.Clock
}

// Service records an incident channel on the incident's timeline: messages,
// edits and deletions, pins and key reactions, notes and follow-ups, and
// reads the channel back to fill gaps.
type Service struct {
	store    Store
	chat     incident.ChatHistory
	notifier Notifier
	policy   incident.Policy
	clock    incident.Clock
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = incident.SystemClock
	}
	if cfg.Policy.Severities == nil {
		cfg.Policy = incident.DefaultPolicy()
	}
	return &Service{store: cfg.Store, chat: cfg.Chat, notifier: cfg.Notifier, policy: cfg.Policy, clock: cfg.Clock}
}

// backfillMargin reads a little before the declaration, so a message sent
// while the channel was being set up is not missed.
const backfillMargin = time.Minute

// messageSource is the SourceID of a captured message: one event per
// message, however often it is delivered, edited or read back.
func messageSource(ts string) string { return "msg:" + ts }

// errNoChange aborts a timeline update that would write nothing new.
var errNoChange = errors.New("no change")

// updateMessage applies fn to the stored message with this ts and its
// payload; fn returns false when there is nothing to change.
// incident.ENOTFOUND passes through.
func (s *Service) updateMessage(ctx context.Context, incidentID int64, ts string, fn func(*incident.TimelineEvent, *incident.MessageData) bool) error {
	_, err := s.store.UpdateTimelineEvent(ctx, incidentID, messageSource(ts), func(ev *incident.TimelineEvent) error {
		d := messageData(ev)
		if !fn(ev, &d) {
			return errNoChange
		}
		ev.Payload = d
		return nil
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	return err
}

// incidentOf returns the incident owning a channel, or nil for any other
// channel: messages elsewhere are none of the timeline's business.
func (s *Service) incidentOf(ctx context.Context, channelID string) (*incident.Incident, error) {
	if channelID == "" {
		return nil, nil
	}
	inc, err := s.store.GetIncidentByChannel(ctx, channelID)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("find the incident of channel %s: %w", channelID, err)
	}
	return inc, nil
}

// messageData is a message event's payload (zero when it has none).
func messageData(ev *incident.TimelineEvent) incident.MessageData {
	d, _ := ev.Payload.(incident.MessageData)
	return d
}

// fillMessage writes what a message says into its event and payload,
// replacing a placeholder left by a pin or reaction that arrived first.
func fillMessage(ev *incident.TimelineEvent, d *incident.MessageData, user, threadTS, text string, at time.Time) {
	d.Placeholder = false
	ev.Text = text
	if user != "" {
		ev.Actor = user
		d.User = user
	}
	if threadTS != "" && threadTS != d.TS {
		d.ThreadTS = threadTS
	}
	if !at.IsZero() {
		ev.At = at
	}
}

func (s *Service) messageEvent(incidentID int64, m incident.CapturedMessage) incident.TimelineEvent {
	at := m.At
	if at.IsZero() {
		at = incident.SlackTime(m.TS)
	}
	if at.IsZero() {
		at = s.clock.Now()
	}
	actor := m.User
	data := incident.MessageData{User: m.User, TS: m.TS, Edited: m.Edited, EditedTS: m.EditedTS}
	if m.App != "" {
		actor = m.App
		data.User, data.App = "", m.App
	}
	if m.ThreadTS != "" && m.ThreadTS != m.TS {
		data.ThreadTS = m.ThreadTS
	}
	return incident.TimelineEvent{IncidentID: incidentID, Kind: incident.EventMessage, Actor: actor, At: at, Text: m.Text,
		SourceID: messageSource(m.TS), Payload: data}
}

// CaptureMessage records a message of an incident channel on the incident's
// timeline, once per message ts: a redelivery or a message already read back
// by Backfill changes nothing. An edit replaces the stored text and marks it
// edited (or stores the message when its first delivery was missed, edited
// only if Slack marked it so), unless the text stored is from a newer edit
// (EditedTS): Slack delivers edits in no set order. A deletion marks it deleted, keeping the text for the
// record, and so does the tombstone Slack puts in place of a deleted thread
// parent, known by its subtype (or, without one, by Slackbot's "This message
// was deleted."). Messages in other channels, the bot's own, those without a
// user or an app, and the channel's system messages (joins, topic changes,
// pins ...: see conversational) are ignored. Another app's message (App) is
// captured like a person's and attributed to the app. A message that shares
// files reads as its comment and what it shared (withFiles).
func (s *Service) CaptureMessage(ctx context.Context, m incident.CapturedMessage) error {
	if m.TS == "" || m.Bot {
		return nil
	}
	tombstone := false
	switch m.Subtype {
	case incident.SubtypeChanged, incident.SubtypeDeleted:
		// The subtype of the message edited or deleted decides.
		tombstone = isTombstone(m.MessageSubtype, m.User, m.Text)
		if !tombstone && !conversational(m.MessageSubtype, m.App) {
			return nil
		}
	default:
		if !conversational(m.Subtype, m.App) {
			return nil
		}
	}
	if !tombstone {
		m.App = appOf(m.User, m.App)
		m.Text = withFiles(m.Text, m.Files)
	}
	if m.User == "" && m.App == "" && m.Subtype != incident.SubtypeDeleted && !tombstone {
		return nil
	}
	inc, err := s.incidentOf(ctx, m.ChannelID)
	if err != nil || inc == nil {
		return err
	}
	if m.TS == inc.PanelTS {
		return nil
	}
	switch {
	case tombstone:
		_, err = s.captureTombstone(ctx, inc.ID, m.TS, false)
	case m.Subtype == incident.SubtypeChanged:
		err = s.captureEdit(ctx, inc, m)
	case m.Subtype == incident.SubtypeDeleted:
		err = s.captureDelete(ctx, inc, m)
	default:
		err = s.captureNew(ctx, inc, m)
	}
	if err != nil {
		return fmt.Errorf("capture message %s in %s: %w", m.TS, inc.Key(), err)
	}
	return nil
}

func (s *Service) captureNew(ctx context.Context, inc *incident.Incident, m incident.CapturedMessage) error {
	ev := s.messageEvent(inc.ID, m)
	err := s.store.AddTimelineEvent(ctx, &ev)
	if incident.ErrorCode(err) != incident.ECONFLICT {
		return err
	}
	// Stored already: a redelivery (nothing to do), or a pin or reaction
	// that got here first and left a placeholder to fill.
	return s.updateMessage(ctx, inc.ID, m.TS, func(stored *incident.TimelineEvent, d *incident.MessageData) bool {
		if !d.Placeholder {
			return false
		}
		fillMessage(stored, d, m.User, m.ThreadTS, m.Text, ev.At)
		if m.Edited {
			d.Edited, d.EditedTS = true, m.EditedTS
		}
		return true
	})
}

func (s *Service) captureEdit(ctx context.Context, inc *incident.Incident, m incident.CapturedMessage) error {
	edit := func(stored *incident.TimelineEvent, d *incident.MessageData) bool {
		if d.Placeholder {
			fillMessage(stored, d, m.User, m.ThreadTS, m.Text, time.Time{})
			if m.Edited {
				d.Edited, d.EditedTS = true, m.EditedTS
			}
			return true
		}
		return applyEdit(stored, d, m.Text, m.EditedTS, m.Files)
	}
	for range 2 {
		err := s.updateMessage(ctx, inc.ID, m.TS, edit)
		if incident.ErrorCode(err) != incident.ENOTFOUND {
			return err
		}
		// The original was missed (the bot was down, or the edit overtook
		// it): store the message as it reads now, edited only if the
		// changed message says so. Slack's message_changed for an unfurl
		// or a new thread reply has no "edited", and its job may run
		// before the original's.
		ev := s.messageEvent(inc.ID, m)
		if err := s.store.AddTimelineEvent(ctx, &ev); incident.ErrorCode(err) != incident.ECONFLICT {
			return err
		}
	}
	return nil
}

func (s *Service) captureDelete(ctx context.Context, inc *incident.Incident, m incident.CapturedMessage) error {
	del := func(_ *incident.TimelineEvent, d *incident.MessageData) bool {
		if d.Deleted {
			return false
		}
		d.Deleted = true
		return true
	}
	for range 2 {
		err := s.updateMessage(ctx, inc.ID, m.TS, del)
		if incident.ErrorCode(err) != incident.ENOTFOUND {
			return err
		}
		// Stored as deleted, so a late delivery of the original cannot
		// bring it back.
		ev := s.messageEvent(inc.ID, m)
		d := messageData(&ev)
		d.Deleted = true
		ev.Payload = d
		if err := s.store.AddTimelineEvent(ctx, &ev); incident.ErrorCode(err) != incident.ECONFLICT {
			return err
		}
	}
	return nil
}

// applyEdit brings a stored message's text to text, the message as edited
// at editedTS (Slack's edited.ts; "" for a message never edited) sharing
// files, and reports whether it changed anything. Slack delivers
// message_changed events in no set order and retries late, so an edit
// older than the one stored, or the message as it read before any edit
// (an unfurl delivered late), changes nothing. Slack also sends
// message_changed for unfurls and new thread replies: only a new text, or
// a newer edit back to the same text, is an edit. Nor is a change in the
// files alone, with no newer edit: a file deleted or hidden by the plan
// since leaves what was shared on the record, and a file's new title
// replaces the old without marking the words edited.
func applyEdit(ev *incident.TimelineEvent, d *incident.MessageData, text, editedTS string, files []incident.SharedFile) bool {
	newer := compareTS(editedTS, d.EditedTS)
	switch {
	case newer < 0:
		return false
	case newer == 0 && len(files) > 0 && ev.Text != text:
		if ev.Text != "" && filesGone(files) {
			return false
		}
		ev.Text = text
		return true
	case ev.Text != text:
		ev.Text, d.Edited = text, true
		if newer > 0 {
			d.EditedTS = editedTS
		}
		return true
	case newer > 0:
		// Edited back to the text stored: keep the edit's time, so an
		// older edit delivered after it does not win.
		d.Edited, d.EditedTS = true, editedTS
		return true
	}
	return false
}

// compareTS orders two Slack timestamps ("1700000000.000100") by time; ""
// (no edit) comes before any.
func compareTS(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return -1
	case b == "":
		return 1
	}
	if c := incident.SlackTime(a).Compare(incident.SlackTime(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// conversational reports whether a message of this Slack subtype (posted
// by app, when another app posted it) is conversation the timeline
// records: what people say, thread replies sent to the channel too, files
// shared, /me messages and other apps' messages. The channel's system
// messages are not: joins and leaves, topic, purpose and name changes,
// pins, apps added or removed, archiving, and any subtype Slack adds later
// (https://docs.slack.dev/reference/events/message). The rule is the same
// for a message seen live and one read back from the history.
func conversational(subtype, app string) bool {
	switch subtype {
	case "", incident.SubtypeBroadcast, "file_share", "me_message":
		return true
	case "bot_message":
		return app != ""
	}
	return false
}

// Deleting a thread's parent leaves a tombstone in its place: Slack sends
// a message_changed whose message has subtype "tombstone", is by Slackbot
// and says "This message was deleted.", and the channel's history keeps
// that message in the parent's place.
const (
	slackbot      = "USLACKBOT"
	tombstoneText = "This message was deleted."
)

// isTombstone reports whether a message with this subtype, author and text
// is the tombstone of a deleted thread parent: by its subtype, or, when
// the subtype is not known, by Slackbot's text.
func isTombstone(subtype, user, text string) bool {
	return subtype == incident.SubtypeTombstone || (user == slackbot && text == tombstoneText)
}

// captureTombstone marks the message with this ts deleted, keeping what it
// said, as captureDelete does: the tombstone is a deletion, not Slackbot
// editing it. A message never captured is stored as deleted with no text
// and no author, since only that a message was deleted there is known;
// backfilled marks it read back from the history. It reports whether it
// stored a new message.
func (s *Service) captureTombstone(ctx context.Context, incidentID int64, ts string, backfilled bool) (bool, error) {
	del := func(_ *incident.TimelineEvent, d *incident.MessageData) bool {
		if d.Deleted {
			return false
		}
		d.Deleted = true
		return true
	}
	for range 2 {
		err := s.updateMessage(ctx, incidentID, ts, del)
		if incident.ErrorCode(err) != incident.ENOTFOUND {
			return false, err
		}
		ev := s.messageEvent(incidentID, incident.CapturedMessage{TS: ts})
		ev.Payload = incident.MessageData{TS: ts, Deleted: true, Backfilled: backfilled}
		err = s.store.AddTimelineEvent(ctx, &ev)
		if incident.ErrorCode(err) != incident.ECONFLICT {
			return err == nil, err
		}
	}
	return false, nil
}

// CapturePin marks a pinned message of an incident channel as a key event
// for the postmortem and records who pinned it, as CaptureMark does for a
// pin whose time is not known.
func (s *Service) CapturePin(ctx context.Context, channelID, ts, user string) error {
	return s.CaptureMark(ctx, incident.KeyMark{ChannelID: channelID, TS: ts, Pin: true, User: user})
}

// CaptureReaction marks a message as a key event when the reaction is the
// policy's KeyReaction (default :pushpin:), as CaptureMark does for a
// reaction whose time is not known. Other reactions are ignored.
func (s *Service) CaptureReaction(ctx context.Context, channelID, ts, reaction, user string) error {
	return s.CaptureMark(ctx, incident.KeyMark{ChannelID: channelID, TS: ts, Reaction: reaction, User: user})
}

func (s *Service) isKeyReaction(name string) bool {
	name = strings.Trim(name, ":")
	if base, _, ok := strings.Cut(name, "::skin-tone-"); ok {
		name = base
	}
	return name == s.keyReactionName()
}

// Backfill reads the incident channel's history since the declaration (a
// minute before, to be safe) and adds every message the timeline lacks, so a
// gap left while the bot was down is filled without duplicating anything;
// the channel's system messages (joins, topic changes ...) are left out by
// the rule live capture applies. It also brings stored messages up to
// date: edited text (unless a newer edit is stored), pins and key
// reactions, and placeholders left by pins and reactions. A message captured
// before the read (or a placeholder) that is no longer in the history was
// deleted while the bot was away, and is marked so. It
// returns how many messages it added. Errors from the chat (a rate limit with
// its RetryAfter) are returned wrapped, so the job calling it waits and
// retries.
func (s *Service) Backfill(ctx context.Context, id int64) (added int, err error) {
	inc, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("backfill: %w", err)
	}
	if inc.ChannelID == "" {
		return 0, nil
	}
	// What was captured before the read: each of these messages is in a
	// whole history of the channel unless it was deleted. One captured
	// while the history is read is reconciled as it is met.
	have, err := s.capturedMessages(ctx, inc.ID)
	if err != nil {
		return 0, fmt.Errorf("backfill %s: %w", inc.Key(), err)
	}
	oldest := inc.DeclaredAt.Add(-backfillMargin)
	// The pins and reactions read stand for the channel at this time: a
	// pin or reaction added or taken back since is not undone by them.
	stamp := historyTS(s.clock.Now())
	msgs, err := s.chat.History(ctx, inc.ChannelID, oldest)
	if err != nil {
		return 0, fmt.Errorf("backfill %s: read the channel history: %w", inc.Key(), err)
	}
	seen := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		if m.TS == "" || m.TS == inc.PanelTS {
			continue
		}
		src := messageSource(m.TS)
		seen[src] = true // in the history, so not deleted
		tombstone := isTombstone(m.Subtype, m.User, m.Text)
		if !tombstone {
			m.App = appOf(m.User, m.App)
			m.Text = withFiles(m.Text, m.Files)
		}
		if !tombstone && (!conversational(m.Subtype, m.App) || (!personUser(m.User) && m.App == "")) {
			// The channel's system messages, as live; anonymous bots. A
			// pin or reaction on one left a placeholder nothing fills: it
			// is no key event.
			if stored, ok := have[src]; ok && stored.Key && messageData(&stored).Placeholder {
				if err := s.updateMessage(ctx, inc.ID, m.TS, unmarkPlaceholder); err != nil {
					return added, fmt.Errorf("backfill %s: %w", inc.Key(), err)
				}
			}
			continue
		}
		stored, ok := have[src]
		var (
			fresh bool
			err   error
		)
		switch {
		case tombstone && ok && messageData(&stored).Deleted:
		case tombstone:
			fresh, err = s.captureTombstone(ctx, inc.ID, m.TS, true)
		default:
			fresh, err = s.backfillMessage(ctx, inc.ID, m, stored, ok, stamp)
		}
		if fresh {
			added++
		}
		if err != nil {
			return added, fmt.Errorf("backfill %s: %w", inc.Key(), err)
		}
	}
	if err := s.markDeleted(ctx, inc.ID, have, seen, oldest); err != nil {
		return added, fmt.Errorf("backfill %s: %w", inc.Key(), err)
	}
	return added, nil
}

// unmarkPlaceholder takes the key marks off a placeholder, one left by a pin
// or reaction on a message the capture does not take (a system message): it
// reports whether it changed anything.
func unmarkPlaceholder(ev *incident.TimelineEvent, d *incident.MessageData) bool {
	if !d.Placeholder || !ev.Key {
		return false
	}
	setMarks(ev, d, marks{})
	return true
}

// capturedMessages is the incident's captured messages by source id.
func (s *Service) capturedMessages(ctx context.Context, incidentID int64) (map[string]incident.TimelineEvent, error) {
	events, err := s.store.ListTimeline(ctx, incidentID)
	if err != nil {
		return nil, err
	}
	have := make(map[string]incident.TimelineEvent, len(events))
	for _, ev := range events {
		if ev.Kind == incident.EventMessage && ev.SourceID != "" {
			have[ev.SourceID] = ev
		}
	}
	return have, nil
}

// backfillMessage adds m, a message of the channel's history read at
// stamp, to the timeline if it lacks it (added is then true), or brings
// the stored one (ok reports there is one) up to date.
func (s *Service) backfillMessage(ctx context.Context, incidentID int64, m incident.ChatMessage, stored incident.TimelineEvent, ok bool, stamp string) (added bool, err error) {
	if !ok {
		ev := s.messageEvent(incidentID, incident.CapturedMessage{TS: m.TS, ThreadTS: m.ThreadTS, User: m.User, Text: m.Text, Edited: m.Edited,
			EditedTS: m.EditedTS, App: m.App})
		d := messageData(&ev)
		d.Backfilled = true
		var ms marks
		s.historyMarks(&ms, m.Pinned, m.Reactions, stamp)
		setMarks(&ev, &d, ms)
		ev.Payload = d
		err := s.store.AddTimelineEvent(ctx, &ev)
		switch {
		case err == nil:
			return true, nil
		case incident.ErrorCode(err) != incident.ECONFLICT:
			return false, err
		}
		// Captured meanwhile by the live event: reconcile it below.
	}
	if ok {
		// stored is a copy: what would change, were it written?
		d := messageData(&stored)
		if !s.refreshMessage(&stored, &d, m, stamp) {
			return false, nil // up to date: no write
		}
	}
	return false, s.updateMessage(ctx, incidentID, m.TS, func(ev *incident.TimelineEvent, d *incident.MessageData) bool {
		return s.refreshMessage(ev, d, m, stamp)
	})
}

// refreshMessage brings a stored message up to date with m from the
// history read at stamp: a placeholder is filled, edited text replaces the
// old unless what is stored is from a newer edit (the history was read
// before an edit captured live), and its pins and key reactions are as the
// history shows them, unless marked or taken back since (historyMarks). It
// reports whether it changed anything.
func (s *Service) refreshMessage(ev *incident.TimelineEvent, d *incident.MessageData, m incident.ChatMessage, stamp string) bool {
	changed := false
	switch {
	case d.Placeholder:
		fillMessage(ev, d, m.User, m.ThreadTS, m.Text, incident.SlackTime(m.TS))
		if m.Edited {
			d.Edited, d.EditedTS = true, m.EditedTS
		}
		changed = true
	case !d.Deleted && applyEdit(ev, d, m.Text, m.EditedTS, m.Files):
		changed = true
	}
	if s.applyMarks(ev, d, func(ms *marks) bool { return s.historyMarks(ms, m.Pinned, m.Reactions, stamp) }) {
		changed = true
	}
	return changed
}

// markDeleted marks as deleted the messages captured before the history
// was read (have) that are not in it (seen): deleted while the bot was away,
// or, for a placeholder, after a pin or reaction marked it. Only what the
// read covers counts: a message from before oldest, or a reply in a thread
// whose parent is, was not read, so it is left as it is.
func (s *Service) markDeleted(ctx context.Context, incidentID int64, have map[string]incident.TimelineEvent, seen map[string]bool, oldest time.Time) error {
	for src, ev := range have {
		d := messageData(&ev)
		if seen[src] || d.Deleted {
			continue
		}
		if !d.Placeholder && (!read(d.TS, oldest) || (d.ThreadTS != "" && !read(d.ThreadTS, oldest))) {
			continue
		}
		if err := s.updateMessage(ctx, incidentID, d.TS, func(_ *incident.TimelineEvent, d *incident.MessageData) bool {
			if d.Deleted {
				return false
			}
			d.Deleted = true
			return true
		}); err != nil {
			return err
		}
	}
	return nil
}

// read reports whether a history read from oldest covers the message ts.
func read(ts string, oldest time.Time) bool {
	at := incident.SlackTime(ts)
	return !at.IsZero() && !at.Before(oldest)
}

// personUser reports whether a history message's author is a person: bots
// without a user show their bot id (B…) or nothing.
// appOf is the app a message is attributed to: app, or "Slackbot" for
// Slackbot's own posts (reminders, /remind, its answers), which come as a
// user's message from USLACKBOT, so that nobody counts them as a person's.
func appOf(user, app string) string {
	if app == "" && user == slackbot {
		return "Slackbot"
	}
	return app
}

func personUser(user string) bool {
	return user != "" && !strings.HasPrefix(user, "B")
}

// AddNote records a note as a key event on the incident's timeline, for the
// postmortem, and posts it in the channel. It works on a closed incident
// too, since notes are often added while the review is written. incident.EINVALID for
// an empty or over-long note; incident.ENOTFOUND for an unknown incident.
func (s *Service) AddNote(ctx context.Context, id int64, actor, text string) error {
	text = strings.TrimSpace(text)
	switch n := utf8.RuneCountInString(text); {
	case n == 0:
		return incident.Errorf(incident.EINVALID, "Say what to note, such as `note rolled back the 14:02 deploy`.")
	case n > incident.MaxNoteLength:
		return incident.Errorf(incident.EINVALID, "The note is %d characters long; keep it within %d.", n, incident.MaxNoteLength)
	}
	inc, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return fmt.Errorf("add note: %w", err)
	}
	ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventNote, Actor: actor, At: s.clock.Now(), Key: true, Text: text}
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil {
		return fmt.Errorf("add note to %s: %w", inc.Key(), err)
	}
	n := incident.Notice{Kind: incident.NoticeNote, Incident: inc.Key(), Actor: actor, Values: map[string]string{"text": text}}
	return s.notifier.Notify(ctx, inc, n)
}

// maxDueYears bounds how far off a follow-up's due date may be.
const maxDueYears = 2

// AddFollowUp records an action item, with an optional owner and due date,
// and posts it in the channel. It works on a closed incident too: follow-ups
// are often agreed in the review. The due date keeps only its day. incident.EINVALID
// for an empty or over-long text, or a due date in the past or over maxDueYears
// away; incident.ENOTFOUND for an
// unknown incident.
func (s *Service) AddFollowUp(ctx context.Context, id int64, actor, text, owner string, due *time.Time) (*incident.ActionItem, error) {
	text = strings.TrimSpace(text)
	if err := incident.CheckText("follow-up", text, true); err != nil {
		return nil, err
	}
	switch n := utf8.RuneCountInString(text); {
	case n == 0:
		return nil, incident.Errorf(incident.EINVALID, "Say what needs doing, such as `followup alert when the pool is over 80%% @jane due 2026-03-21`.")
	case n > incident.MaxFollowUpLength:
		return nil, incident.Errorf(incident.EINVALID, "The follow-up is %d characters long; keep it within %d.", n, incident.MaxFollowUpLength)
	}
	owner = strings.TrimSpace(owner)
	if strings.ContainsAny(owner, " <>@|") || len(owner) > 32 {
		return nil, incident.Errorf(incident.EINVALID, "The owner must be a Slack user id.")
	}
	now := s.clock.Now()
	var dueOn *time.Time
	if due != nil {
		y, m, d := due.Date()
		day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		ty, tm, td := now.In(s.policy.Location).Date()
		today := time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)
		if day.Before(today) {
			return nil, incident.Errorf(incident.EINVALID, "The due date %s is in the past.", day.Format("2006-01-02"))
		}
		if day.After(today.AddDate(maxDueYears, 0, 0)) {
			// A typo (9999, 2062) would keep the item out of every
			// reminder and overdue list for good.
			return nil, incident.Errorf(incident.EINVALID, "The due date %s is more than %d years away; a follow-up is due sooner than that.",
				day.Format("2006-01-02"), maxDueYears)
		}
		dueOn = &day
	}
	inc, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("add follow-up: %w", err)
	}
	item := &incident.ActionItem{IncidentID: inc.ID, Text: text, Owner: owner, DueOn: dueOn, CreatedBy: actor, CreatedAt: now}
	if err := s.store.AddActionItem(ctx, item); err != nil {
		return nil, fmt.Errorf("add follow-up to %s: %w", inc.Key(), err)
	}
	n := incident.Notice{Kind: incident.NoticeFollowUp, Incident: inc.Key(), Actor: actor, User: owner, Values: map[string]string{"text": text}}
	if dueOn != nil {
		n.Values["due"] = dueOn.Format("2006-01-02")
	}
	return item, s.notifier.Notify(ctx, inc, n)
}
