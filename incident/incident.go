package incident

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxTitleLength bounds an incident title so it fits a channel topic and a
// notification line.
const MaxTitleLength = 150

// Role names. The Incident Commander is stored in Incident.Commander; the other
// roles are configurable and stored in Incident.Roles.
const (
	RoleCommander = "commander"
	RoleComms     = "comms"
	RoleOps       = "ops"
	RoleScribe    = "scribe"
)

// Incident is one incident, from declaration to close.
type Incident struct {
	ID int64
	// Number is the human number, shown as INC-<Number>.
	Number      int64
	Title       string
	Description string
	Severity    Severity
	// PeakSeverity is the most severe the incident has been (zero: as
	// Severity). Lowering the severity does not lower the bar of the checks
	// that go by severity (the resolution checklist, two-person rollbacks):
	// see MostSevere.
	PeakSeverity Severity
	Status       Status
	// Service is the affected service's key from the policy file, if any.
	Service string
	Private bool
	// Drill marks a practice incident: it runs like any other, but metrics
	// leave it out and lists hide it unless asked to include drills.
	Drill bool

	// DeclareKey makes declaring idempotent: a repeated command or a
	// double-clicked submit carries the same key and declares once.
	DeclareKey string

	DeclaredBy string // Slack user id
	Commander  string // Slack user id of the Incident Commander; "" when nobody holds the role
	// Roles maps a role name (comms, ops, scribe ...) to a Slack user id.
	Roles map[string]string

	ChannelID   string
	ChannelName string
	// PanelTS is the ts of the pinned control-panel message.
	PanelTS string
	// BroadcastChannel and BroadcastTS locate the announcement in the
	// broadcast channel.
	BroadcastChannel string
	BroadcastTS      string

	// Summary is the resolution summary.
	Summary string

	// PublicProvider, PublicID and PublicURL locate the incident on the
	// public status page once it is posted there.
	PublicProvider string
	PublicID       string
	PublicURL      string

	// LastUpdateAt is when the last status update was posted; nags count
	// from it (or from DeclaredAt before the first update).
	LastUpdateAt *time.Time
	// NagCount is how many nags went unanswered since the last update; it
	// drives the escalation ladder.
	NagCount int
	// SnoozedUntil, when set, is when the next nag is due: set by the IC's
	// snooze, by an update that promises the next one, and by each nag to
	// the gap before the next, so a late nag never comes in a burst.
	SnoozedUntil *time.Time

	DeclaredAt     time.Time
	AcknowledgedAt *time.Time
	MitigatedAt    *time.Time
	ResolvedAt     *time.Time
	ClosedAt       *time.Time
	UpdatedAt      time.Time
}

// Key returns the human identifier, such as "INC-42".
func (i *Incident) Key() string { return KeyPrefix + strconv.FormatInt(i.Number, 10) }

// MostSevere is the most severe the incident has been: P1 for a P1 lowered
// to P3 since.
func (i *Incident) MostSevere() Severity {
	if i.PeakSeverity.Valid() && i.PeakSeverity < i.Severity {
		return i.PeakSeverity
	}
	return i.Severity
}

// KeyPrefix starts every incident's key; the number follows it.
const KeyPrefix = "INC-"

// Validate checks the fields a person types.
func (i *Incident) Validate() error {
	title := strings.TrimSpace(i.Title)
	if err := CheckText("title", title, false); err != nil {
		return err
	}
	if err := CheckText("description", i.Description, true); err != nil {
		return err
	}
	switch {
	case !visible(title):
		return Errorf(EINVALID, "The incident needs a title, such as \"checkout is down\".")
	case utf8.RuneCountInString(title) > MaxTitleLength:
		return Errorf(EINVALID, "The title is %d characters long; keep it within %d.", utf8.RuneCountInString(title), MaxTitleLength)
	case !i.Severity.Valid():
		return Errorf(EINVALID, "Unknown severity: use P1, P2, P3 or P4.")
	case i.Status != "" && !i.Status.Valid():
		return Errorf(EINVALID, "Unknown status %q.", i.Status)
	}
	return nil
}

// CheckText refuses text that cannot be kept or shown as typed: invalid
// UTF-8, a NUL character (PostgreSQL cannot store one in text), and, unless
// lines is set, any other control character (a title is one line; a
// description or an update may hold line breaks and tabs). what names the
// field in the EINVALID error's sentence.
func CheckText(what, s string, lines bool) error {
	if !utf8.ValidString(s) {
		return Errorf(EINVALID, "The %s is not valid UTF-8 text.", what)
	}
	for _, r := range s {
		switch {
		case r == 0:
			return Errorf(EINVALID, "The %s holds a NUL character; remove it.", what)
		case lines && (r == '\n' || r == '\r' || r == '\t'):
		case unicode.IsControl(r):
			return Errorf(EINVALID, "The %s holds a control character (U+%04X); remove it.", what, r)
		case !lines && bidiControl(r):
			return Errorf(EINVALID, "The %s holds a character that changes the direction of the text after it (U+%04X); remove it.", what, r)
		}
	}
	return nil
}

// bidiControl reports whether r is one of Unicode's explicit direction
// embeddings, overrides or isolates (U+202A-U+202E, U+2066-U+2069): in a
// one-line field (a title, shown in the channel's topic and name, the
// announcement, the list) one makes the rest of the line read other than
// it is stored. Right-to-left text needs none of them.
func bidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069
}

// visible reports whether s holds something a person sees: a character that
// is neither white space nor an invisible format character (a zero-width
// space, a word joiner, a byte order mark).
func visible(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) && !unicode.Is(unicode.Cf, r) {
			return true
		}
	}
	return false
}

// IncidentFilter selects incidents for ListIncidents. The zero value selects
// every incident, drills included.
type IncidentFilter struct {
	// OpenOnly keeps incidents that are declared, investigating or mitigated.
	OpenOnly bool
	// Statuses, when not empty, keeps incidents in one of these statuses.
	Statuses []Status
	// Severity, when set, keeps incidents of this severity.
	Severity Severity
	// Service, when set, keeps incidents of this service.
	Service string
	// DeclaredFrom and DeclaredBefore, when set, keep incidents declared at
	// or after DeclaredFrom and strictly before DeclaredBefore.
	DeclaredFrom   time.Time
	DeclaredBefore time.Time
	// ExcludeDrills leaves practice incidents out.
	ExcludeDrills bool
	// DeclareKey, when set, keeps the incident declared with this
	// idempotency key (DeclareInput.Key).
	DeclareKey string
	// Limit, when above zero, keeps the first Limit incidents in Order.
	Limit int
	// Order is the order incidents come in: OrderSeverity (the zero value)
	// or OrderNewest.
	Order ListOrder
	// After, when set, keeps the incidents that come after it in the
	// newest-first order: declared before After.DeclaredAt, or at that very
	// time with an ID below After.ID. With OrderNewest and a Limit it reads
	// the page that follows the incident the cursor was taken from
	// (CursorOf), however many incidents are declared meanwhile.
	After *ListCursor
}

// ListOrder is an order ListIncidents returns incidents in.
type ListOrder int

const (
	// OrderSeverity lists the most severe first, then the newest first
	// (declared time, then ID, highest first): Slack's list of open
	// incidents.
	OrderSeverity ListOrder = iota
	// OrderNewest lists the newest first: by declared time, then by ID,
	// highest first. It is the order a ListCursor pages through, and the
	// stores read it through an index, so a Limit bounds what is read.
	OrderNewest
)

// Valid reports whether o is one of the orders above.
func (o ListOrder) Valid() bool { return o == OrderSeverity || o == OrderNewest }

// ListCursor is a place in the newest-first order (OrderNewest): the
// declared time and ID of the last incident of a page.
type ListCursor struct {
	DeclaredAt time.Time
	ID         int64
}

// CursorOf is inc's place in the newest-first order, for IncidentFilter.After.
func CursorOf(inc *Incident) *ListCursor {
	return &ListCursor{DeclaredAt: inc.DeclaredAt, ID: inc.ID}
}

// Precedes reports whether c comes before inc in the newest-first order:
// inc was declared earlier, or at the same time with a lower ID.
func (c ListCursor) Precedes(inc *Incident) bool {
	if !inc.DeclaredAt.Equal(c.DeclaredAt) {
		return inc.DeclaredAt.Before(c.DeclaredAt)
	}
	return inc.ID < c.ID
}

// NewestFirst reports whether a comes before b in OrderNewest.
func NewestFirst(a, b *Incident) bool {
	if !a.DeclaredAt.Equal(b.DeclaredAt) {
		return a.DeclaredAt.After(b.DeclaredAt)
	}
	return a.ID > b.ID
}

// Match reports whether inc passes the filter (ignoring Limit and Order).
// Stores that filter in memory use it; database stores apply the same rules
// in SQL.
func (f IncidentFilter) Match(inc *Incident) bool {
	if f.After != nil && !f.After.Precedes(inc) {
		return false
	}
	if f.OpenOnly && !inc.Status.Open() {
		return false
	}
	if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, inc.Status) {
		return false
	}
	if f.Severity != 0 && inc.Severity != f.Severity {
		return false
	}
	if f.Service != "" && inc.Service != f.Service {
		return false
	}
	if f.DeclareKey != "" && inc.DeclareKey != f.DeclareKey {
		return false
	}
	return f.declaredWithin(inc) && !(f.ExcludeDrills && inc.Drill)
}

// declaredWithin reports whether inc was declared within the filter's
// DeclaredFrom and DeclaredBefore.
func (f IncidentFilter) declaredWithin(inc *Incident) bool {
	if !f.DeclaredFrom.IsZero() && inc.DeclaredAt.Before(f.DeclaredFrom) {
		return false
	}
	return f.DeclaredBefore.IsZero() || inc.DeclaredAt.Before(f.DeclaredBefore)
}

// EventKind names a timeline event.
type EventKind string

// Timeline event kinds written by the bot itself. Messages captured from the
// channel use EventMessage.
const (
	EventDeclared        EventKind = "declared"
	EventStatusChanged   EventKind = "status_changed"
	EventSeverityChanged EventKind = "severity_changed"
	EventRoleAssigned    EventKind = "role_assigned"
	EventUpdatePosted    EventKind = "update_posted"
	EventPaged           EventKind = "paged"
	EventAcknowledged    EventKind = "acknowledged"
	EventChangesShown    EventKind = "changes_shown"
	EventRollback        EventKind = "rollback"
	EventNote            EventKind = "note"
	EventMessage         EventKind = "message"
	EventProviderFailure EventKind = "provider_failure"
	// EventSetup records a completed step of opening the war room.
	EventSetup EventKind = "setup"
	// EventNag records an update nag; EventAckMissed a missed response target.
	EventNag       EventKind = "nag"
	EventAckMissed EventKind = "ack_missed"
	// EventStatusPage records a public status page post; EventComms a step
	// of the communication clock (a draft, a nudge, a customer e-mail).
	EventStatusPage EventKind = "status_page"
	EventComms      EventKind = "comms"
)

// TimelineEvent is one thing that happened during an incident.
type TimelineEvent struct {
	ID         int64
	IncidentID int64
	Kind       EventKind
	// Actor is a Slack user id, or "bot", or a provider name.
	Actor string
	At    time.Time
	Text  string
	// Key marks an event for the postmortem timeline.
	Key bool
	// SourceID deduplicates captured events (a Slack event id or message ts);
	// an event with the same IncidentID and SourceID is stored once.
	SourceID string
	// Payload holds the kind's details: the struct of eventdata.go for the
	// kind (MessageData for EventMessage ...), nil for a kind without any.
	Payload EventData
}

// StatusUpdate is an update posted by the IC.
type StatusUpdate struct {
	ID         int64
	IncidentID int64
	Author     string
	Status     Status
	Text       string
	// NextUpdateIn is the promised time to the next update; zero means the
	// severity's cadence.
	NextUpdateIn time.Duration
	PostedAt     time.Time
	// SourceID, when set, names where the update came from (such as an API
	// caller's idempotency key); its timeline event carries it, so a second
	// update with the same SourceID on the incident is refused (ECONFLICT)
	// and nothing of it is stored.
	SourceID string
	// Via is what posted the update on its author's behalf (an API
	// token), said at the end of its timeline line; it is not part of the
	// update's words, nor stored with them.
	Via string
}

// EventText is the text of the update's timeline line: its words, and
// what posted it on its author's behalf, if anything did.
func (u StatusUpdate) EventText() string { return u.Text + viaNote(u.Via) }

// ActionItem is a follow-up recorded during or after an incident.
type ActionItem struct {
	ID         int64
	IncidentID int64
	Text       string
	Owner      string // Slack user id; "" when nobody owns it yet
	DueOn      *time.Time
	Done       bool
	CreatedBy  string
	CreatedAt  time.Time
	// ExternalURL links the tracker issue once exported.
	ExternalURL string
}

// ChangeKind is what sort of change a ChangeEvent records.
type ChangeKind string

// Change kinds.
const (
	ChangeDeploy      ChangeKind = "deploy"
	ChangeFlag        ChangeKind = "flag"
	ChangePullRequest ChangeKind = "pull_request"
	ChangeWorkflow    ChangeKind = "workflow"
	ChangeConfig      ChangeKind = "config"
	ChangeOther       ChangeKind = "other"
)

// ChangeEvent is a change to production (a deploy, a flag flip, a config
// push) that may explain an incident.
type ChangeEvent struct {
	ID int64
	// Source is the provider: github, launchdarkly, unleash, webhook.
	Source string
	// ExternalID is the provider's id; Source+ExternalID is unique.
	ExternalID  string
	Kind        ChangeKind
	Service     string
	Summary     string
	Actor       string
	URL         string
	Environment string
	// Ref is what the change points at: a commit SHA, a flag key.
	Ref string
	// OccurredAt is when the change last moved: a deploy's latest state,
	// a run's completion or last update, a flag's flip.
	OccurredAt time.Time
	// Revision orders the reports of one change that moves through states
	// under one id (a deployment's pending, in_progress, success): a
	// report replaces the stored one when its Revision is higher, or equal
	// with a later OccurredAt. Zero for changes that never move: a second
	// report of one is a repeat, whatever its time (a generic webhook's
	// retry without occurred_at is timed when it arrives).
	Revision int64
	// Data holds the provider's details (repo, workflow, deployment_id,
	// state, project, started_at ...) and whatever a generic change webhook
	// sends along: an open set of keys, kept as strings.
	Data map[string]string
}

// Newer reports whether c is a later report of the same change than old.
// Of a change that never moves (Revision zero), no report is newer.
func (c ChangeEvent) Newer(old ChangeEvent) bool {
	return c.Revision > old.Revision || c.Revision == old.Revision && c.Revision != 0 && c.OccurredAt.After(old.OccurredAt)
}

// Delivery records an inbound delivery (a Slack event, a webhook) so that a
// redelivery is recognised and changes nothing.
type Delivery struct {
	Source     string // slack, pagerduty, github ...
	ID         string // event_id, X-Webhook-Id, X-GitHub-Delivery ...
	ReceivedAt time.Time
}

// ReplayBatch is a batch of the Slack request signatures one process
// accepted, recorded so that the others refuse a replay of them.
type ReplayBatch struct {
	ID         int64
	Instance   string // the process that accepted them
	RecordedAt time.Time
	Keys       []string
}

// RollbackStatus is where a rollback is.
type RollbackStatus string

// Rollback states.
const (
	RollbackAwaitingApproval RollbackStatus = "awaiting_approval"
	RollbackRunning          RollbackStatus = "running"
	RollbackSucceeded        RollbackStatus = "succeeded"
	RollbackFailed           RollbackStatus = "failed"
)

// Rollback is a rollback requested during an incident.
type Rollback struct {
	ID         int64
	IncidentID int64
	// Key is the plan's key: one rollback per plan.
	Key         string
	Plan        RollbackPlan
	Status      RollbackStatus
	RequestedBy string
	ApprovedBy  string
	ExternalID  string
	URL         string
	Detail      string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}
