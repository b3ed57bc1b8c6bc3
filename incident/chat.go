package incident

import (
	"context"
	"time"
)

// The chat platform, role by role. The Slack implementation renders every
// message itself; the domain passes facts. Methods return *Error values:
// ECONFLICT for a taken channel name, ENOTFOUND for a missing channel or
// message, EUNAVAILABLE when the platform is down, so the caller can decide
// what to retry. Each consumer takes the roles it uses: the core the
// channel setup, the directory, the panels and the notices; a feature
// package declares the few methods it calls, which a Chat satisfies.

// ChannelSetup sets up an incident's war room: its channel, topic,
// bookmarks, members and pins.
type ChannelSetup interface {
	// CreateChannel creates a channel and joins the bot to it. A taken name
	// is ECONFLICT.
	CreateChannel(ctx context.Context, name string, private bool) (channelID string, err error)
	// FindChannel returns the id of the channel with this name if the bot
	// created it, and ENOTFOUND otherwise. It lets a retried declare adopt
	// the channel an interrupted attempt created.
	FindChannel(ctx context.Context, name string, private bool) (channelID string, err error)
	// SetTopic sets the channel topic to what a NoticeTopic says; the
	// implementation enforces the platform's length limit.
	SetTopic(ctx context.Context, channelID string, n Notice) error
	// AddBookmark adds a link to the channel's bookmarks.
	AddBookmark(ctx context.Context, channelID, title, link string) error
	// Invite adds users to a channel, in batches the platform accepts;
	// users already in the channel are not an error. Users the platform
	// refused while inviting the others are an *InviteRefusedError.
	Invite(ctx context.Context, channelID string, userIDs []string) error
	// IsMember reports whether a user is in a channel.
	IsMember(ctx context.Context, channelID, userID string) (bool, error)
	// Pin pins a message.
	Pin(ctx context.Context, channelID, ts string) error
}

// Directory finds people on the chat platform.
type Directory interface {
	// ResolveUsers turns user ids, user-group ids and e-mail addresses into
	// user ids. References that match nobody are returned in missing. When
	// some lookups fail, the error is an *UnresolvedError naming them, and
	// userIDs and missing hold what the other references resolved to.
	ResolveUsers(ctx context.Context, refs []string) (userIDs, missing []string, err error)
	// UserEmail returns a user's e-mail address, for mapping to other tools.
	UserEmail(ctx context.Context, userID string) (string, error)
	// UserName returns a user's display name.
	UserName(ctx context.Context, userID string) (string, error)
	// IsGuest reports whether a user is a guest of the workspace (Slack's
	// multi- and single-channel guests). An id that names nobody of the
	// workspace is not a guest.
	IsGuest(ctx context.Context, userID string) (bool, error)
	// UserChannels lists the channels a user is in: the public ones, and
	// the private ones the bot is in too (every incident channel).
	UserChannels(ctx context.Context, userID string) ([]string, error)
}

// PanelPoster shows an incident's control panel in its channel and its
// announcement in the broadcast channel.
type PanelPoster interface {
	// PostPanel posts the incident's control panel in its channel.
	PostPanel(ctx context.Context, inc *Incident) (ts string, err error)
	// UpdatePanel edits the control panel in place.
	UpdatePanel(ctx context.Context, inc *Incident) error
	// Announce posts the incident in the broadcast channel and returns the
	// message's channel id and ts.
	Announce(ctx context.Context, channel string, inc *Incident) (channelID, ts string, err error)
	// UpdateAnnouncement edits the announcement in place.
	UpdateAnnouncement(ctx context.Context, channelID, ts string, inc *Incident) error
}

// NoticePoster says things in channels and to people.
type NoticePoster interface {
	// Notify says a notice in a channel, in the chat's own words. Within a
	// job it posts at most once per job and content: a retry after a
	// failure that may have taken effect returns the earlier message.
	Notify(ctx context.Context, channelID string, n Notice) (ts string, err error)
	// UpdateNotice redraws the message at ts in a channel (an id, or a
	// name as Notify takes) as the notice, with its buttons; it writes
	// nothing when the message already says exactly that.
	UpdateNotice(ctx context.Context, channelID, ts string, n Notice) error
	// Tell says a notice to one person, privately.
	Tell(ctx context.Context, to ReplyTarget, n Notice) error
	// Post posts a line of text in a channel.
	Post(ctx context.Context, channelID, text string) (ts string, err error)
	// PostButtons posts a line of text with buttons under it.
	PostButtons(ctx context.Context, channelID, text string, buttons []Button) (ts string, err error)
	// PostNag posts an update nag (NoticeNag) in the incident channel,
	// with buttons to post an update, to say "still investigating", and to
	// snooze.
	PostNag(ctx context.Context, channelID string, inc *Incident, n Notice) (ts string, err error)
	// Reply answers the person who asked for something, privately.
	Reply(ctx context.Context, to ReplyTarget, text string) error
}

// Chat is the chat platform, one field per role; one implementation
// usually fills them all (the Slack Chat, the tests' fake). Its methods are
// those of its roles, so a Chat can be given to any consumer that declares
// a few of them. A role nobody uses may be nil. MarkDrills wraps the roles
// that post.
type Chat struct {
	ChannelSetup
	Directory
	PanelPoster
	NoticePoster
	ChatHistory
	ChangePoster
}

// ReplyTarget says how to reach the person who asked: through the
// slash command's response URL when there is one, else privately in a
// channel, else in a direct message.
type ReplyTarget struct {
	ResponseURL string `json:"response_url,omitempty"`
	ChannelID   string `json:"channel_id,omitempty"`
	UserID      string `json:"user_id,omitempty"`
}

// Button is a button the domain asks the chat to show. Action names the
// handler; Value carries its argument.
type Button struct {
	Action string
	Text   string
	Value  string
	// Style is "", "primary" or "danger".
	Style string
}

// Button actions that the domain's messages carry.
const (
	ActionAckPage    = "page_ack"
	ActionRepage     = "page_repage"
	ActionRetryPage  = "page_retry"
	ActionRollback   = "rollback_open"
	ActionRetryRoll  = "rollback_retry"
	ActionApproveRol = "rollback_approve"
	ActionExport     = "postmortem_export"
)

// ChangeList is the answer to "what changed?" for an incident.
type ChangeList struct {
	From, To time.Time
	// Start is the incident's start; changes in the 30 minutes before it
	// are highlighted.
	Start time.Time
	Items []ChangeItem
	// Failures lists the sources that could not be asked, so the list
	// says which part is missing.
	Failures []SourceFailure
	// Cuts lists the changes a source read only the newest of, so the
	// list does not pass for all the changes in the window.
	Cuts []SourceCut
	// Omitted counts the older changes gathered but left out of Items,
	// past the most a list holds.
	Omitted int
}

// ChangeItem is one change in the list.
type ChangeItem struct {
	Change    ChangeEvent
	Highlight bool
	// Action is the rollback button's label ("Roll back", "Turn off"), or
	// "" when the change cannot be rolled back; Value is its argument.
	Action string
	Value  string
}

// SourceFailure says a change source could not be read.
type SourceFailure struct {
	Source  string
	Message string
}

// SourceCut says a change source read only the newest of more changes of
// one kind in the window: GitHub reads at most 50 deployments per
// repository and environment.
type SourceCut struct {
	// Source names the source, as ChangeSource.Name does.
	Source string
	// What names the changes, in the plural: "deployments to production
	// in acme/checkout".
	What string
	// Read is how many of them the source read, the newest.
	Read int
}

// ChatMessage is a message read back from a channel's history.
type ChatMessage struct {
	TS       string
	ThreadTS string
	User     string
	Text     string
	// Subtype is Slack's message subtype: "" for what a person says,
	// SubtypeBroadcast, "bot_message" ..., a system message's
	// ("channel_join", "channel_topic", "pinned_item" ...), or
	// SubtypeTombstone. Capture records the same subtypes read back as
	// live.
	Subtype string
	Edited  bool
	// EditedTS is the ts of the message's last edit (Slack's edited.ts),
	// "" when it has none.
	EditedTS string
	Pinned   bool
	// App names the app that posted the message when another app did;
	// see CapturedMessage.App.
	App string
	// Reactions lists the reaction names on the message.
	Reactions []string
	// Files are the files shared with the message (CapturedMessage.Files).
	Files []SharedFile
}

// ChatHistory reads a channel back, for filling gaps in the timeline.
type ChatHistory interface {
	// History returns the channel's messages since oldest, thread replies
	// included, oldest first, paginating and respecting rate limits.
	History(ctx context.Context, channelID string, oldest time.Time) ([]ChatMessage, error)
}

// ChangePoster shows a list of changes with their rollback buttons.
type ChangePoster interface {
	PostChanges(ctx context.Context, channelID string, inc *Incident, list ChangeList) (ts string, err error)
}
