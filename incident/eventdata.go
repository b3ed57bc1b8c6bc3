package incident

import (
	"encoding/json"
	"fmt"
)

// EventData is a timeline event's payload: one struct per event kind that
// carries details (StatusChangedData for EventStatusChanged, MessageData for
// EventMessage ...), set in TimelineEvent.Payload. A kind without details
// (EventDeclared, EventSetup, EventNag, EventPostmortem) has a nil payload.
// eventKinds below is the table of every kind and its payload.
//
// A store keeps the payload as one JSON object (EncodeEventData,
// DecodeEventData). Each field is a JSON string under the key the event has
// always been stored with, numbers and flags included ("round": "2",
// "edited": "true"), so a row written before the payloads were typed reads
// into its struct unchanged.
//
// Payloads are values without maps or slices: copying an event copies its
// payload. To change one, take it out, change it and put it back:
//
//	d, _ := ev.Payload.(incident.MessageData)
//	d.Edited = true
//	ev.Payload = d
type EventData interface {
	// eventKind is the kind of event the payload belongs to; a store refuses
	// an event whose payload is of another kind.
	eventKind() EventKind
}

// eventKinds lists every timeline event kind with how its payload decodes;
// nil for a kind that carries none.
var eventKinds = map[EventKind]func([]byte) (EventData, error){
	EventDeclared:        nil,
	EventStatusChanged:   decodeAs[StatusChangedData],
	EventSeverityChanged: decodeAs[SeverityChangedData],
	EventRoleAssigned:    decodeAs[RoleAssignedData],
	EventUpdatePosted:    decodeAs[UpdatePostedData],
	EventPaged:           decodeAs[PagedData],
	EventAcknowledged:    decodeAs[AcknowledgedData],
	EventChangesShown:    decodeAs[ChangesShownData],
	EventRollback:        decodeAs[RollbackData],
	EventNote:            decodeAs[NoteData],
	EventMessage:         decodeAs[MessageData],
	EventProviderFailure: decodeAs[ProviderFailureData],
	EventSetup:           nil,
	EventNag:             nil,
	EventAckMissed:       decodeAs[AckMissedData],
	EventStatusPage:      decodeAs[StatusPageData],
	EventComms:           decodeAs[CommsStepData],
	EventAlert:           decodeAs[AlertData],
	EventPostmortem:      nil,
	EventResolutionCheck: decodeAs[ResolutionCheckData],
	EventReview:          decodeAs[ReviewData],
}

func decodeAs[T EventData](b []byte) (EventData, error) {
	var d T
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	return d, nil
}

// EncodeEventData returns the JSON object a store keeps for ev's payload,
// "{}" when it has none. A payload of another kind than ev.Kind is an
// EINVALID error.
func EncodeEventData(ev *TimelineEvent) (string, error) {
	if ev.Payload == nil {
		return "{}", nil
	}
	if k := ev.Payload.eventKind(); k != ev.Kind {
		return "", Errorf(EINVALID, "A %s event cannot carry the details of a %s event.", ev.Kind, k)
	}
	b, err := json.Marshal(ev.Payload)
	if err != nil {
		return "", fmt.Errorf("encode %s event data: %w", ev.Kind, err)
	}
	return string(b), nil
}

// DecodeEventData sets ev.Payload from data as EncodeEventData wrote it (or
// as the event's flat map of strings was stored before), by ev.Kind: an
// empty object, and the data of a kind without a payload, leave it nil.
func DecodeEventData(ev *TimelineEvent, data string) error {
	ev.Payload = nil
	if data == "" || data == "{}" {
		return nil
	}
	decode := eventKinds[ev.Kind]
	if decode == nil {
		return nil
	}
	p, err := decode([]byte(data))
	if err != nil {
		return fmt.Errorf("decode %s event data: %w", ev.Kind, err)
	}
	ev.Payload = p
	return nil
}

// StatusChangedData is EventStatusChanged's payload.
type StatusChangedData struct {
	From Status `json:"from,omitempty"`
	To   Status `json:"to,omitempty"`
}

// SeverityChangedData is EventSeverityChanged's payload, stored as "P2".
type SeverityChangedData struct {
	From Severity
	To   Severity
}

type severityChangedJSON struct {
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// MarshalJSON stores the severities by name ("P1"), as they always were.
func (d SeverityChangedData) MarshalJSON() ([]byte, error) {
	var j severityChangedJSON
	if d.From != 0 {
		j.From = d.From.String()
	}
	if d.To != 0 {
		j.To = d.To.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the severities by name.
func (d *SeverityChangedData) UnmarshalJSON(b []byte) error {
	var j severityChangedJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*d = SeverityChangedData{}
	for _, f := range []struct {
		s   string
		dst *Severity
	}{{j.From, &d.From}, {j.To, &d.To}} {
		if f.s == "" {
			continue
		}
		sev, err := ParseSeverity(f.s)
		if err != nil {
			return err
		}
		*f.dst = sev
	}
	return nil
}

// TakeoverConfirmed is RoleAssignedData.Takeover when the new IC took the
// role from another.
const TakeoverConfirmed = "confirmed"

// RoleAssignedData is EventRoleAssigned's payload.
type RoleAssignedData struct {
	Role string `json:"role,omitempty"`
	User string `json:"user,omitempty"`
	// Takeover is TakeoverConfirmed when the role was taken from someone.
	Takeover string `json:"takeover,omitempty"`
}

// UpdatePostedData is EventUpdatePosted's payload: the status the update
// was posted with.
type UpdatePostedData struct {
	Status Status `json:"status,omitempty"`
}

// PagedData is EventPaged's payload: a page sent (Service, Page), sent
// again (Repage, the step), simulated by a drill, or an event from the
// provider about it (Event).
type PagedData struct {
	Service   string        `json:"service,omitempty"`
	Page      string        `json:"page,omitempty"` // the page's dedup key
	Event     PageEventKind `json:"event,omitempty"`
	Repage    int           `json:"repage,omitempty,string"`
	Simulated bool          `json:"simulated,omitempty,string"`
	// Level is the escalation level a step of the re-page escalates the
	// page to: decided once, before the provider is asked, and kept on the
	// record of that escalation so that a retry asks for the same level.
	Level int `json:"level,omitempty,string"`
	// Assignees names the people a step of the re-page escalated the page
	// to, as PagerDuty answered, comma separated: a retry that says the
	// escalation again says it as it was, whoever holds the page by then.
	Assignees string `json:"assignees,omitempty"`
}

// AcknowledgedData is EventAcknowledged's payload.
type AcknowledgedData struct {
	Page string `json:"page,omitempty"` // the page's dedup key
	// By names who acknowledged at PagerDuty, or "someone"; rows written
	// before User was kept hold the chat user's mention here.
	By string `json:"by,omitempty"`
	// User is the chat user who acknowledged from the chat, by id.
	User string `json:"user,omitempty"`
}

// ChangesShownData is EventChangesShown's payload: how many changes were
// listed and highlighted, how many sources failed, and the window
// (a time.Duration's String).
type ChangesShownData struct {
	Changes       int    `json:"changes,string"`
	Highlighted   int    `json:"highlighted,string"`
	FailedSources int    `json:"failed_sources,string"`
	Window        string `json:"window,omitempty"`
}

// RollbackData is EventRollback's payload: one step of the rollback with
// this Key, in this round (the number of retries before it).
type RollbackData struct {
	Key    string     `json:"key,omitempty"`
	Step   string     `json:"step,omitempty"`
	Round  int        `json:"round,string"`
	Kind   ChangeKind `json:"kind,omitempty"`
	Source string     `json:"source,omitempty"`
	// DryRun marks a drill's rollback that changed nothing.
	DryRun bool `json:"dry_run,omitempty,string"`
	// Status is the rollback's state after the step, when recorded.
	Status RollbackStatus `json:"status,omitempty"`
}

// NoteData is EventNote's payload: the message an incident was declared
// from (Channel, TS, Author, Permalink), or the action item a note is about.
type NoteData struct {
	Channel    string `json:"channel,omitempty"`
	TS         string `json:"ts,omitempty"`
	Author     string `json:"author,omitempty"`
	Permalink  string `json:"permalink,omitempty"`
	ActionItem int64  `json:"action_item,omitempty,string"`
}

// MessageData is EventMessage's payload: a message captured from the
// incident channel.
type MessageData struct {
	// User is the author, or App another app that posted it.
	User      string `json:"user,omitempty"`
	App       string `json:"app,omitempty"`
	TS        string `json:"ts,omitempty"`
	ThreadTS  string `json:"thread_ts,omitempty"` // set for a reply in a thread
	Permalink string `json:"permalink,omitempty"`
	Edited    bool   `json:"edited,omitempty,string"`
	// EditedTS is the ts of the edit the text is from (Slack's
	// edited.ts), so an older edit delivered late changes nothing.
	EditedTS string `json:"edited_ts,omitempty"`
	Deleted  bool   `json:"deleted,omitempty,string"`
	// Placeholder marks a message pinned or reacted to before its own
	// delivery: its text is not known yet.
	Placeholder bool `json:"placeholder,omitempty,string"`
	// Backfilled marks a message read back from the channel's history.
	Backfilled bool `json:"backfilled,omitempty,string"`
	// Marked says how the message became a key event ("pin", "reaction"),
	// MarkedBy by whom.
	Marked   string `json:"marked,omitempty"`
	MarkedBy string `json:"marked_by,omitempty"`
	// Marks records every pin and key reaction added to or removed from
	// the message, each with the time Slack gave its latest add or
	// removal, so that marks delivered out of order, or retried late,
	// end in the state Slack shows: the message is a key event while one
	// mark remains. Capture writes and reads it; "" for a message never
	// marked, or marked before marks were recorded (Marked then tells).
	Marks string `json:"marks,omitempty"`
}

// ProviderFailureData is EventProviderFailure's payload for a failed status
// page post: the post's kind, ref and body.
type ProviderFailureData struct {
	Kind string `json:"kind,omitempty"`
	Ref  string `json:"ref,omitempty"`
	Body string `json:"body,omitempty"`
}

// StatusPageData is EventStatusPage's payload: a post to the public status
// page.
type StatusPageData struct {
	Kind       string          `json:"kind,omitempty"`
	Provider   string          `json:"provider,omitempty"`
	PublicID   string          `json:"public_id,omitempty"`
	URL        string          `json:"url,omitempty"`
	Status     PublicStatus    `json:"status,omitempty"`
	Components ComponentStatus `json:"components,omitempty"`
}

// The customer e-mail decisions in CommsStepData.Email.
const (
	EmailSent      = "sent"
	EmailNotNeeded = "not_needed"
)

// CommsStepData is EventComms's payload: the customer e-mail decision, if
// the step recorded one.
type CommsStepData struct {
	Email string `json:"email,omitempty"`
}

// AlertData is EventAlert's payload.
type AlertData struct {
	Alert  int64       `json:"alert,omitempty,string"` // the alert's id
	Status AlertStatus `json:"status,omitempty"`
	Count  int         `json:"count,omitempty,string"`
	URL    string      `json:"url,omitempty"`
}

// YesNo is a checklist answer, stored as "yes" or "no".
type YesNo bool

// MarshalText returns "yes" or "no".
func (y YesNo) MarshalText() ([]byte, error) {
	if y {
		return []byte("yes"), nil
	}
	return []byte("no"), nil
}

// UnmarshalText reads "yes" as true and anything else as false.
func (y *YesNo) UnmarshalText(b []byte) error {
	*y = string(b) == "yes"
	return nil
}

// ResolutionCheckData is EventResolutionCheck's payload: the resolution
// checklist as answered.
type ResolutionCheckData struct {
	MonitorsGreen     YesNo  `json:"monitors_green"`
	ErrorRateBaseline YesNo  `json:"error_rate_baseline"`
	SmokeTested       YesNo  `json:"smoke_tested"`
	SmokeTester       string `json:"smoke_tester,omitempty"`
	Notes             string `json:"notes,omitempty"`
}

// ReviewData is EventReview's payload: the review's new state (and the
// state it left), or its due date (YYYY-MM-DD) when scheduled.
type ReviewData struct {
	State ReviewState `json:"state,omitempty"`
	From  ReviewState `json:"from,omitempty"`
	Due   string      `json:"due,omitempty"`
}

// AckMissedData is EventAckMissed's payload: the response-time check job
// that claimed the warning, so that its retry, and only its retry, says a
// warning it claimed and did not get to post.
type AckMissedData struct {
	Job int64 `json:"job,omitempty,string"`
}

func (StatusChangedData) eventKind() EventKind   { return EventStatusChanged }
func (SeverityChangedData) eventKind() EventKind { return EventSeverityChanged }
func (RoleAssignedData) eventKind() EventKind    { return EventRoleAssigned }
func (UpdatePostedData) eventKind() EventKind    { return EventUpdatePosted }
func (PagedData) eventKind() EventKind           { return EventPaged }
func (AcknowledgedData) eventKind() EventKind    { return EventAcknowledged }
func (ChangesShownData) eventKind() EventKind    { return EventChangesShown }
func (RollbackData) eventKind() EventKind        { return EventRollback }
func (NoteData) eventKind() EventKind            { return EventNote }
func (MessageData) eventKind() EventKind         { return EventMessage }
func (ProviderFailureData) eventKind() EventKind { return EventProviderFailure }
func (StatusPageData) eventKind() EventKind      { return EventStatusPage }
func (CommsStepData) eventKind() EventKind       { return EventComms }
func (AlertData) eventKind() EventKind           { return EventAlert }
func (ResolutionCheckData) eventKind() EventKind { return EventResolutionCheck }
func (ReviewData) eventKind() EventKind          { return EventReview }
func (AckMissedData) eventKind() EventKind       { return EventAckMissed }
