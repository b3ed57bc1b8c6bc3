package incident

import (
	"strconv"
	"strings"
	"time"
)

// Captured text (messages, and what people type into updates, the
// description and the summary) is stored as the chat delivered it, in its
// message markup: mentions, channels and links as <...> tokens and the
// &amp; &lt; &gt; escapes. PlainText is its reader for what leaves the chat
// (ADR 0033).

// Message subtypes that CaptureMessage treats specially; the others it
// stores ("", "thread_broadcast", "file_share", "me_message", another
// app's "bot_message") or ignores (joins, topic changes and other channel
// noise), live and read back alike.
const (
	SubtypeChanged   = "message_changed"
	SubtypeDeleted   = "message_deleted"
	SubtypeBroadcast = "thread_broadcast"
	// SubtypeTombstone is the hidden message Slack leaves in place of a
	// deleted thread parent that has replies.
	SubtypeTombstone = "tombstone"
)

// EventPostmortem records the bot's postmortem work (a draft posted, an
// export) on the timeline; such events are never key events.
const EventPostmortem EventKind = "postmortem"

// Limits on what a person types for a note or a follow-up.
const (
	MaxNoteLength     = 3000
	MaxFollowUpLength = 500
)

// CapturedMessage is a message seen in an incident channel, from the Events
// API: a new message, a thread reply, an edit or a deletion.
type CapturedMessage struct {
	ChannelID string
	// TS is the message's ts: for an edit or a deletion, the ts of the
	// message edited or deleted.
	TS string
	// ThreadTS is the thread's parent ts for a reply.
	ThreadTS string
	User     string
	Text     string
	// Subtype is Slack's message subtype: "", SubtypeChanged,
	// SubtypeDeleted, SubtypeBroadcast ...
	Subtype string
	// MessageSubtype is, for an edit or a deletion, the subtype of the
	// message edited or deleted (SubtypeTombstone for a deleted thread
	// parent, "bot_message" ...).
	MessageSubtype string
	// EventID is the delivery's event_id; the transport deduplicates on it
	// before the message gets here.
	EventID string
	// At is when the message was sent; zero means the time in TS.
	At time.Time
	// Edited reports that Slack marked the message edited.
	Edited bool
	// EditedTS is the ts of the message's last edit (Slack's edited.ts),
	// "" when it has none: edits can arrive out of order, and the newest
	// is kept.
	EditedTS string
	// Bot marks a message the bot itself posted: what it says is already
	// on the timeline as the bot's own events.
	Bot bool
	// App names the app that posted the message when another app did (an
	// alerting integration, a deploy bot), whether as a classic
	// "bot_message" or as its bot user: such a message is captured and
	// attributed to the app, not to a person.
	App string
	// Files are the files shared with the message, in Slack's order: a
	// message that shares files may say nothing else.
	Files []SharedFile
}

// KeyMark is a pin, or a reaction, added to or removed from a message of
// an incident channel (Slack's pin_added, pin_removed, reaction_added and
// reaction_removed events). A pin or the policy's key reaction marks the
// message a key event for the postmortem, for as long as one such mark
// remains on it.
type KeyMark struct {
	ChannelID string
	// TS is the ts of the message marked.
	TS string
	// Pin is set for a pin; otherwise the mark is the reaction named
	// Reaction (without colons; a skin tone suffix is kept).
	Pin      bool
	Reaction string
	// User is who pinned, unpinned, reacted or took the reaction back.
	User string
	// Removed is set for an unpin or a reaction taken back.
	Removed bool
	// EventTS is the event's own time (Slack's event_ts, "" when not
	// known): marks are applied in its order, whatever order they are
	// delivered in.
	EventTS string
}

// SharedFile is a file shared with a message, as the message shows it.
type SharedFile struct {
	// Name is the file's title, else its file name, as the person gave
	// it (not escaped); "" when Slack no longer describes the file.
	Name string
	// Mode is Slack's file mode: FileTombstone, FileHiddenByLimit, or
	// another ("hosted", "snippet" ...) for a file shown as usual.
	Mode string
}

// The file modes of a file Slack no longer shows in a message: it leaves
// only the file's id and this mode.
const (
	// FileTombstone is a file deleted since it was shared.
	FileTombstone = "tombstone"
	// FileHiddenByLimit is a file a free workspace's plan no longer
	// shows, being past its limit.
	FileHiddenByLimit = "hidden_by_limit"
)

// Gone reports whether Slack no longer shows the file: deleted, hidden by
// the plan's limit, or described without a name.
func (f SharedFile) Gone() bool {
	return strings.TrimSpace(f.Name) == "" || f.Mode == FileTombstone || f.Mode == FileHiddenByLimit
}

// SlackTime turns a Slack ts ("1700000000.000100") into a time; a malformed
// ts gives the zero time.
func SlackTime(ts string) time.Time {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || s <= 0 {
		return time.Time{}
	}
	var usec int64
	if frac != "" {
		if len(frac) > 6 {
			frac = frac[:6]
		}
		frac += strings.Repeat("0", 6-len(frac))
		usec, _ = strconv.ParseInt(frac, 10, 64)
	}
	return time.Unix(s, usec*1000).UTC()
}
