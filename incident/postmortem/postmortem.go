// Package postmortem compiles an incident's record (its timeline, status
// updates, pages, changes, rollbacks and action items) into a blameless
// post-incident review draft with the six sections of the incident practice:
// summary, timeline, root cause, contributing factors, what went well and
// action items.
//
// The draft states facts and asks questions; it never draws conclusions. The
// root-cause and contributing-factor sections are seeded with what the bot
// recorded (changes shortly before the start, rollbacks and their outcome,
// provider failures, unanswered pages) so the team starts from evidence, and
// BlamelessCheck flags people's names and blame language in the text the team
// then writes.
//
// Compile is pure and linear in the size of the record apart from sorting, so
// an incident with ten thousand captured messages compiles in milliseconds.
// Like package incident, this package imports only the standard library and
// incident.
package postmortem

import (
	"fmt"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// ChangeWindow is how far before the start of an incident a change is listed
// as a candidate cause: the practice asks what changed in the 30-60 minutes
// before.
const ChangeWindow = 60 * time.Minute

// FastRollback is the practice's goal for a rollback: under five minutes.
const FastRollback = 5 * time.Minute

// MostActiveLimit is how many people MostActive lists.
const MostActiveLimit = 5

// maxSummaryImpact bounds the impact text quoted in the summary, which is one
// paragraph for a non-technical reader.
const maxSummaryImpact = 400

// Input is everything the bot recorded about one incident.
type Input struct {
	Incident    *incident.Incident
	Timeline    []incident.TimelineEvent
	Updates     []incident.StatusUpdate
	ActionItems []incident.ActionItem
	// Changes are the service's changes around the incident; the ones in the
	// ChangeWindow before the start become root-cause facts.
	Changes   []incident.ChangeEvent
	Pages     []incident.Page
	Rollbacks []incident.Rollback
	Policy    incident.Policy
	// Now is when the draft is compiled; it measures an incident still open.
	Now time.Time
	// UserNames maps a Slack user id to a display name; it may be empty, and
	// an id without a name is shown as the id.
	UserNames map[string]string
}

// Draft is a compiled postmortem draft: the data the postmortem templates
// render. Every text that came from a person is raw (unescaped); templates
// escape it with the MD and X methods.
type Draft struct {
	Key           string // INC-42
	Title         string
	Severity      incident.Severity
	SeverityLabel string // critical
	Status        string // Resolved
	Service       string // the service's name, or its key
	// Date is when the incident was declared, in UTC.
	Date time.Time
	// Day is Date's UTC day as YYYY-MM-DD: the Date row, and the date in
	// the postmortem's file name. Every time in the draft is UTC, so the
	// day it is shown with is the UTC day too; a time on another day
	// carries its date (MultiDay).
	Day string
	// LocalDay is the declaration's date and time in the policy's time
	// zone ("2026-03-13 18:30 America/Los_Angeles"), set only when that
	// day is not Day, so a team far from UTC sees the day it lived.
	LocalDay string
	Slug     string
	// GeneratedAt is when the draft was compiled.
	GeneratedAt time.Time
	// MultiDay reports that the times the draft shows (the start, the
	// milestones, the key events, the resolution and its check, the
	// customer e-mail) fall on more than one UTC day, so each needs its
	// date.
	MultiDay bool

	// Summary is one paragraph for a non-technical reader, without names.
	Summary string
	// Started is the earliest recorded sign of the incident; Duration runs
	// from it to the resolution (or to GeneratedAt while still open).
	Started  time.Time
	Duration time.Duration
	Open     bool

	// Timeline lists the milestones in a fixed order; one that never
	// happened has Recorded false.
	Timeline []Milestone
	// KeyEvents are the events marked for the postmortem (pins, :pushpin:
	// reactions, notes, the bot's key events), oldest first.
	KeyEvents []Event
	// KeyEventsOmitted counts the last key events left out of the
	// Confluence page to keep it within ConfluenceBudget; zero elsewhere.
	KeyEventsOmitted int
	Metrics          Metrics

	RootCause           Analysis
	ContributingFactors Analysis
	WhatWentWell        []string

	ActionItems []Action
	// Participants are everyone who acted or wrote, sorted by name.
	Participants []Participant
	// MostActive are the MostActiveLimit participants who wrote the most
	// messages, most first.
	MostActive []Participant
	// MessageCount counts the captured messages that were not deleted.
	MessageCount int
	// HistoryUnread reports that the last draft could not read the
	// channel's history back, so messages sent while the bot was away may
	// be missing; the summary says so.
	HistoryUnread bool

	// ReviewNotes are BlamelessCheck's findings on the summary, root-cause
	// and contributing-factor text of this draft.
	ReviewNotes []Finding

	// Resolution is the data that confirmed the resolution; nil when the
	// resolve checklist was not answered.
	Resolution *Resolution
	// Drill marks a practice incident; DrillSteps record what worked.
	Drill      bool
	DrillSteps []DrillStep
}

// Milestone is one step of the response.
type Milestone struct {
	Name     string
	At       time.Time
	Recorded bool
	// Offset is At minus the incident's start.
	Offset time.Duration
	// Detail says what marked the milestone, such as "first status update".
	Detail string
}

// Event is one key event.
type Event struct {
	At   time.Time
	Kind incident.EventKind
	// Actor is a display name: a person, "firebreak" or a provider.
	Actor string
	// Text is the latest text, with Slack markup turned into plain text.
	Text     string
	InThread bool
	Edited   bool
	// Link is a captured message's permalink in Slack, "" when unknown.
	Link string
	// Cut reports that Text was shortened to keep the Confluence page
	// within ConfluenceBudget; the whole text is in the channel.
	Cut bool
}

// Metrics are the response times, each measured from the declaration and
// zero when the step was not reached.
type Metrics struct {
	TimeToAcknowledge time.Duration
	TimeToMitigate    time.Duration
	TimeToResolve     time.Duration
	// AckTarget is the severity's RespondWithin; zero when the severity has
	// no clock target (AckTargetText then says what is expected).
	AckTarget     time.Duration
	AckTargetText string
	// AckWithinTarget reports an acknowledgement inside AckTarget.
	AckWithinTarget bool
	// UpdatesPosted counts the status updates posted while users were
	// affected (from the declaration to the mitigation, else the resolution,
	// else now); UpdatesExpected is how many the severity's cadence
	// (UpdateEvery) asked for in that window, zero without a cadence.
	UpdatesPosted   int
	UpdatesExpected int
	UpdateEvery     time.Duration
	// PublicPosted says the incident reached the status page;
	// TimeToFirstPublic is from the declaration to its first post there,
	// against the severity's StatusPageWithin (PublicTarget, zero without
	// a target).
	PublicPosted       bool
	TimeToFirstPublic  time.Duration
	PublicTarget       time.Duration
	PublicWithinTarget bool
	// NotCustomerFacing records that the incident was judged not
	// customer-facing, so nothing was owed to the status page.
	NotCustomerFacing bool
	// CustomersEmailed is when customers were told by e-mail, zero when
	// not; CustomerEmail is "sent", "not_needed" or "" (never decided).
	CustomersEmailed time.Time
	CustomerEmail    string
}

// Analysis is a section the team writes: a prompt, and the facts the bot
// recorded to start from.
type Analysis struct {
	Prompt string
	Facts  []string
}

// Text returns the prompt and facts as one text, for BlamelessCheck.
func (a Analysis) Text() string {
	return a.Prompt + "\n" + strings.Join(a.Facts, "\n")
}

// Action is an action item as the postmortem shows it.
type Action struct {
	Text  string
	Owner string // display name; "" when nobody owns it
	Due   time.Time
	Done  bool
	URL   string
	// OwnerNeeded and DueNeeded flag what the item lacks: the practice wants
	// every action item to have an owner and a due date.
	OwnerNeeded bool
	DueNeeded   bool
	// Item is the stored action item.
	Item incident.ActionItem
}

// Participant is a person who acted or wrote during the incident.
type Participant struct {
	ID       string // Slack user id, or "" for a provider-side name
	Name     string
	Roles    []string // "Incident Commander", "comms lead"
	Messages int
}

// Compile builds the draft. It never fails: whatever was not recorded is
// shown as such.
func Compile(in Input) Draft {
	c := newCompiler(in)
	return c.compile()
}

// compiler holds the derived indexes Compile's steps share.
type compiler struct {
	in    Input
	inc   incident.Incident
	sev   incident.SeverityPolicy
	names map[string]string
	// events is the timeline sorted by time, with message versions merged.
	events   []incident.TimelineEvent
	messages int
	perUser  map[string]int
	start    time.Time
	end      time.Time // resolution, or Now while open
	// unread is HistoryUnread.
	unread bool
}

func newCompiler(in Input) *compiler {
	c := &compiler{in: in, names: in.UserNames, perUser: map[string]int{}}
	if in.Incident != nil {
		c.inc = *in.Incident
	}
	c.sev = in.Policy.Severity(c.inc.Severity)
	c.events = mergeMessages(in.Timeline)
	for _, ev := range c.events {
		if ev.Kind == incident.EventPostmortem && strings.HasPrefix(ev.SourceID, historySource) {
			// The last draft's read decides.
			c.unread = strings.HasSuffix(ev.SourceID, historyUnread)
		}
		if ev.Kind == incident.EventMessage && !deleted(ev) {
			c.messages++
			if u := messageUser(ev); u != "" {
				c.perUser[u]++
			}
		}
	}
	c.start = c.startTime()
	c.end = in.Now
	if c.inc.ResolvedAt != nil {
		c.end = *c.inc.ResolvedAt
	}
	return c
}

func (c *compiler) compile() Draft {
	loc := c.in.Policy.Location
	if loc == nil {
		loc = time.UTC
	}
	date := c.inc.DeclaredAt.UTC()
	localDay := ""
	if local := c.inc.DeclaredAt.In(loc); !c.inc.DeclaredAt.IsZero() && local.Format("2006-01-02") != date.Format("2006-01-02") {
		localDay = local.Format("2006-01-02 15:04 ") + zoneName(local)
	}
	slug := incident.Slug(c.inc.Title)
	if slug == "" {
		slug = fmt.Sprintf("inc-%d", c.inc.Number)
	}
	d := Draft{
		Key:           c.inc.Key(),
		Title:         c.inc.Title,
		Severity:      c.inc.Severity,
		SeverityLabel: c.sev.Label,
		Status:        statusLabel(c.inc.Status),
		Service:       c.serviceName(),
		Date:          date,
		Day:           date.Format("2006-01-02"),
		LocalDay:      localDay,
		Slug:          slug,
		GeneratedAt:   c.in.Now,
		Started:       c.start,
		Duration:      positive(c.end.Sub(c.start)),
		Open:          c.inc.ResolvedAt == nil,
		MessageCount:  c.messages,
		HistoryUnread: c.unread,
	}
	d.Metrics = c.metrics()
	d.Timeline = c.milestones()
	d.KeyEvents = c.keyEvents()
	d.Summary = c.summary(d)
	d.RootCause = c.rootCause()
	d.ContributingFactors = c.contributingFactors(d.Metrics)
	d.WhatWentWell = c.wentWell(d.Metrics)
	d.ActionItems = c.actions()
	d.Participants, d.MostActive = c.participants()
	d.Resolution = c.resolution()
	if c.inc.Drill {
		d.Drill = true
		d.DrillSteps = c.drillSteps(d.Resolution)
	}
	d.MultiDay = c.multiDay(d)
	names := make([]string, 0, len(d.Participants))
	for _, p := range d.Participants {
		names = append(names, p.Name)
	}
	d.ReviewNotes = append(d.ReviewNotes, BlamelessCheck("Summary", d.Summary, names)...)
	d.ReviewNotes = append(d.ReviewNotes, BlamelessCheck("Root cause", d.RootCause.Text(), names)...)
	d.ReviewNotes = append(d.ReviewNotes, BlamelessCheck("Contributing factors", d.ContributingFactors.Text(), names)...)
	return d
}

// startTime is the earliest recorded sign of the incident: the declaration,
// or anything recorded before it (an alert's page, an imported event).
func (c *compiler) startTime() time.Time {
	start := c.inc.DeclaredAt
	if len(c.events) > 0 && !c.events[0].At.IsZero() {
		start = minTime(start, c.events[0].At)
	}
	for _, p := range c.in.Pages {
		start = minTime(start, p.CreatedAt)
	}
	return start
}

func (c *compiler) serviceName() string {
	if c.inc.Service == "" {
		return ""
	}
	if svc, ok := c.in.Policy.Services[c.inc.Service]; ok && svc.Name != "" {
		return svc.Name
	}
	return c.inc.Service
}

// multiDay reports whether the times d shows fall on more than one UTC
// day: the span from the start to the resolution (or now), and every time
// printed on its own, such as a key event pinned the morning after.
func (c *compiler) multiDay(d Draft) bool {
	times := []time.Time{c.start, c.end, d.Metrics.CustomersEmailed}
	for _, m := range d.Timeline {
		if m.Recorded {
			times = append(times, m.At)
		}
	}
	for _, ev := range d.KeyEvents {
		times = append(times, ev.At)
	}
	if d.Resolution != nil {
		times = append(times, d.Resolution.At)
	}
	day := ""
	for _, t := range times {
		if t.IsZero() {
			continue
		}
		switch s := t.UTC().Format("20060102"); {
		case day == "":
			day = s
		case s != day:
			return true
		}
	}
	return false
}

// zoneName names t's time zone for a reader: the IANA name
// (America/Los_Angeles) when the location has one, else the abbreviation
// or offset the zone gives.
func zoneName(t time.Time) string {
	if name := t.Location().String(); name != "" && name != "Local" {
		return name
	}
	abbr, _ := t.Zone()
	return abbr
}
