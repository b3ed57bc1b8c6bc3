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
	"sort"
	"strings"
	"time"
	"unicode/utf8"

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
	// Date is when the incident was declared, in the policy's time zone.
	Date time.Time
	// Day is Date as YYYY-MM-DD, the date in the postmortem's file name.
	Day  string
	Slug string
	// GeneratedAt is when the draft was compiled.
	GeneratedAt time.Time
	// MultiDay reports that the incident spans more than one UTC day, so
	// times need their dates.
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
	Metrics   Metrics

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
}

func newCompiler(in Input) *compiler {
	c := &compiler{in: in, names: in.UserNames, perUser: map[string]int{}}
	if in.Incident != nil {
		c.inc = *in.Incident
	}
	c.sev = in.Policy.Severity(c.inc.Severity)
	c.events = mergeMessages(in.Timeline)
	for _, ev := range c.events {
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
	date := c.inc.DeclaredAt.In(loc)
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
		Slug:          slug,
		GeneratedAt:   c.in.Now,
		Started:       c.start,
		Duration:      positive(c.end.Sub(c.start)),
		Open:          c.inc.ResolvedAt == nil,
		MessageCount:  c.messages,
	}
	d.MultiDay = c.start.UTC().Format("20060102") != c.end.UTC().Format("20060102")
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
	names := make([]string, 0, len(d.Participants))
	for _, p := range d.Participants {
		names = append(names, p.Name)
	}
	d.ReviewNotes = append(d.ReviewNotes, BlamelessCheck("Summary", d.Summary, names)...)
	d.ReviewNotes = append(d.ReviewNotes, BlamelessCheck("Root cause", d.RootCause.Text(), names)...)
	d.ReviewNotes = append(d.ReviewNotes, BlamelessCheck("Contributing factors", d.ContributingFactors.Text(), names)...)
	return d
}

// mergeMessages sorts the timeline by time and folds the versions of one
// Slack message (the same ts captured again after an edit or a delete) into
// one event: the first one's time, the last one's text, deleted or key if any
// version was. It copies, so the input is left as it was.
func mergeMessages(timeline []incident.TimelineEvent) []incident.TimelineEvent {
	out := make([]incident.TimelineEvent, 0, len(timeline))
	byTS := make(map[string]int)
	for _, ev := range timeline {
		ts := ""
		if ev.Kind == incident.EventMessage {
			ts = message(ev).TS
			if ts == "" {
				ts = ev.SourceID
			}
		}
		if ts == "" {
			out = append(out, ev)
			continue
		}
		i, seen := byTS[ts]
		if !seen {
			byTS[ts] = len(out)
			out = append(out, ev)
			continue
		}
		prev := out[i]
		merged := ev
		merged.At = minTime(prev.At, ev.At)
		merged.Key = prev.Key || ev.Key
		merged.Payload = mergeMessage(message(prev), message(ev))
		if ev.Text == "" {
			// A delete may arrive without the text.
			merged.Text = prev.Text
		}
		out[i] = merged
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].At.Before(out[b].At) })
	return out
}

// message is a captured message's payload, zero for any other event.
func message(ev incident.TimelineEvent) incident.MessageData {
	d, _ := ev.Payload.(incident.MessageData)
	return d
}

// mergeMessage is prev with what next says on top: next's non-empty
// fields and its flags that are set.
func mergeMessage(prev, next incident.MessageData) incident.MessageData {
	out := prev
	for _, f := range []struct{ dst, src *string }{{&out.User, &next.User}, {&out.App, &next.App}, {&out.TS, &next.TS},
		{&out.ThreadTS, &next.ThreadTS}, {&out.Permalink, &next.Permalink}, {&out.Marked, &next.Marked}, {&out.MarkedBy, &next.MarkedBy}} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	out.Edited = prev.Edited || next.Edited
	out.Deleted = prev.Deleted || next.Deleted
	out.Placeholder = prev.Placeholder || next.Placeholder
	out.Backfilled = prev.Backfilled || next.Backfilled
	return out
}

func deleted(ev incident.TimelineEvent) bool { return message(ev).Deleted }

// messageUser returns who wrote a captured message.
func messageUser(ev incident.TimelineEvent) string {
	if u := message(ev).User; u != "" {
		return u
	}
	return ev.Actor
}

// commanderAssigned reports whether ev gave someone the IC role.
func commanderAssigned(ev incident.TimelineEvent) bool {
	d, ok := ev.Payload.(incident.RoleAssignedData)
	return ok && d.Role == incident.RoleCommander
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

// name returns the display name for a Slack user id, "firebreak" for the
// bot, and anything else (a provider) as it is.
func (c *compiler) name(id string) string {
	switch {
	case id == "" || id == "bot":
		return "firebreak"
	case c.names[id] != "":
		return c.names[id]
	}
	return id
}

// isUser reports whether an actor is a person: a known name or something
// shaped like a Slack user id.
func (c *compiler) isUser(id string) bool {
	if id == "" || id == "bot" {
		return false
	}
	if _, ok := c.names[id]; ok {
		return true
	}
	return slackUserID(id)
}

// slackUserID reports whether s looks like a Slack user id (U… or W…,
// upper-case letters and digits).
func slackUserID(s string) bool {
	if len(s) < 3 || (s[0] != 'U' && s[0] != 'W') {
		return false
	}
	for i := 1; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'A' && ch <= 'Z') && !(ch >= '0' && ch <= '9') {
			return false
		}
	}
	return true
}

// acknowledgedAt is the human acknowledgement: the incident's own record,
// else the earliest page acknowledgement or acknowledged event.
func (c *compiler) acknowledgedAt() (time.Time, string) {
	if c.inc.AcknowledgedAt != nil {
		return *c.inc.AcknowledgedAt, "incident acknowledged"
	}
	var at time.Time
	for _, p := range c.in.Pages {
		if p.AcknowledgedAt != nil && (at.IsZero() || p.AcknowledgedAt.Before(at)) {
			at = *p.AcknowledgedAt
		}
	}
	if ev, ok := c.first(incident.EventAcknowledged); ok && (at.IsZero() || ev.At.Before(at)) {
		at = ev.At
	}
	if at.IsZero() {
		return at, ""
	}
	return at, "page acknowledged"
}

// first returns the earliest event of a kind.
func (c *compiler) first(kind incident.EventKind) (incident.TimelineEvent, bool) {
	for _, ev := range c.events {
		if ev.Kind == kind {
			return ev, true
		}
	}
	return incident.TimelineEvent{}, false
}

func (c *compiler) metrics() Metrics {
	m := Metrics{
		AckTarget:     c.sev.RespondWithin,
		AckTargetText: c.sev.TargetText,
		UpdateEvery:   c.sev.UpdateEvery,
	}
	if m.AckTargetText == "" && m.AckTarget > 0 {
		m.AckTargetText = fmtDuration(m.AckTarget)
	}
	declared := c.inc.DeclaredAt
	if at, _ := c.acknowledgedAt(); !at.IsZero() {
		m.TimeToAcknowledge = positive(at.Sub(declared))
		m.AckWithinTarget = m.AckTarget > 0 && m.TimeToAcknowledge <= m.AckTarget
	}
	if c.inc.MitigatedAt != nil {
		m.TimeToMitigate = positive(c.inc.MitigatedAt.Sub(declared))
	}
	if c.inc.ResolvedAt != nil {
		m.TimeToResolve = positive(c.inc.ResolvedAt.Sub(declared))
	}
	// The target applies when the status page clock ran for the incident
	// (its draft was proposed) and nobody judged it not customer-facing.
	for _, ev := range c.events {
		switch {
		case ev.Kind == incident.EventComms && ev.SourceID == "comms:draft":
			m.PublicTarget = c.sev.StatusPageWithin
		case ev.Kind == incident.EventComms && ev.SourceID == "comms:declined":
			m.NotCustomerFacing = true
		}
	}
	if m.NotCustomerFacing {
		m.PublicTarget = 0
	}
	if at, ok := incident.FirstPublicPost(c.events); ok {
		m.PublicTarget = c.sev.StatusPageWithin
		m.PublicPosted = true
		m.TimeToFirstPublic = positive(at.Sub(declared))
		m.PublicWithinTarget = m.PublicTarget > 0 && m.TimeToFirstPublic <= m.PublicTarget
	}
	for _, ev := range c.events {
		if d, ok := ev.Payload.(incident.CommsStepData); ok && d.Email != "" {
			m.CustomerEmail = d.Email
			if m.CustomerEmail == incident.EmailSent {
				m.CustomersEmailed = ev.At
			}
		}
	}
	// Updates are owed while users are affected: from the declaration until
	// mitigation, or the resolution, or now. Both counts use that window.
	end := c.end
	if c.inc.MitigatedAt != nil && c.inc.MitigatedAt.Before(end) {
		end = *c.inc.MitigatedAt
	}
	for _, u := range c.in.Updates {
		if !u.PostedAt.Before(declared) && !u.PostedAt.After(end) {
			m.UpdatesPosted++
		}
	}
	if m.UpdateEvery > 0 {
		m.UpdatesExpected = int(positive(end.Sub(declared)) / m.UpdateEvery)
	}
	return m
}

// Milestone names, in timeline order.
const (
	MilestoneStarted      = "Started"
	MilestoneDeclared     = "Detected and declared"
	MilestoneCommander    = "Incident Commander assigned"
	MilestonePaged        = "On-call paged"
	MilestoneAcknowledged = "Acknowledged"
	MilestoneDiagnosis    = "Diagnosis began"
	MilestoneChanges      = "Recent changes found"
	MilestoneFix          = "Rollback or fix applied"
	MilestoneMitigated    = "Mitigated"
	MilestoneResolved     = "Resolved"
	// MilestonePublic is the first status page post; it is listed only
	// when there was one.
	MilestonePublic = "Status page first posted"
)

func (c *compiler) milestones() []Milestone {
	ms := make([]Milestone, 0, 10)
	add := func(name string, at time.Time, detail string) {
		m := Milestone{Name: name, Detail: detail}
		if !at.IsZero() {
			m.At, m.Recorded, m.Offset = at, true, positive(at.Sub(c.start))
		}
		ms = append(ms, m)
	}
	startDetail := "taken as the declaration"
	if c.start.Before(c.inc.DeclaredAt) {
		startDetail = "the earliest recorded event, before the declaration"
	}
	add(MilestoneStarted, c.start, startDetail+"; edit if the impact began earlier")
	add(MilestoneDeclared, c.inc.DeclaredAt, "declared in Slack")

	var icAt time.Time
	for _, ev := range c.events {
		if commanderAssigned(ev) {
			icAt = ev.At
			break
		}
	}
	add(MilestoneCommander, icAt, "")

	pagedAt, pagedDetail := time.Time{}, ""
	for _, p := range c.in.Pages {
		if !p.CreatedAt.IsZero() && (pagedAt.IsZero() || p.CreatedAt.Before(pagedAt)) {
			pagedAt, pagedDetail = p.CreatedAt, providerLabel(p.Provider)
		}
	}
	if ev, ok := c.first(incident.EventPaged); ok && (pagedAt.IsZero() || ev.At.Before(pagedAt)) {
		pagedAt, pagedDetail = ev.At, ""
	}
	add(MilestonePaged, pagedAt, pagedDetail)

	ackAt, ackDetail := c.acknowledgedAt()
	add(MilestoneAcknowledged, ackAt, ackDetail)

	diagAt, diagDetail := c.diagnosisBegan()
	add(MilestoneDiagnosis, diagAt, diagDetail)

	changesAt, changesDetail := time.Time{}, ""
	if ev, ok := c.first(incident.EventChangesShown); ok {
		changesAt, changesDetail = ev.At, "recent changes listed in the channel"
	}
	add(MilestoneChanges, changesAt, changesDetail)

	fixAt, fixDetail := c.fixApplied()
	add(MilestoneFix, fixAt, fixDetail)

	add(MilestoneMitigated, timeOf(c.inc.MitigatedAt), "")
	add(MilestoneResolved, timeOf(c.inc.ResolvedAt), "")
	if at, ok := incident.FirstPublicPost(c.events); ok {
		detail := "customers told on the status page"
		if t := c.sev.StatusPageWithin; t > 0 {
			detail += fmt.Sprintf(", %s after the declaration (target %s)", fmtDuration(positive(at.Sub(c.inc.DeclaredAt))), fmtDuration(t))
		}
		add(MilestonePublic, at, detail)
	}

	// A timeline reads in time order; steps that never happened follow, in
	// their usual order, so the gaps stand out.
	sort.SliceStable(ms, func(i, j int) bool {
		if ms[i].Recorded != ms[j].Recorded {
			return ms[i].Recorded
		}
		return ms[i].Recorded && ms[i].At.Before(ms[j].At)
	})
	return ms
}

// diagnosisBegan is when someone started working the problem: the first
// status update, or the first message a person wrote in the channel at or
// after the declaration, whichever came first. Deleted messages do not count.
func (c *compiler) diagnosisBegan() (time.Time, string) {
	var at time.Time
	detail := ""
	for _, u := range c.in.Updates {
		if !u.PostedAt.Before(c.inc.DeclaredAt) && (at.IsZero() || u.PostedAt.Before(at)) {
			at, detail = u.PostedAt, "first status update"
		}
	}
	for _, ev := range c.events {
		if ev.Kind != incident.EventMessage || deleted(ev) || ev.At.Before(c.inc.DeclaredAt) || !c.isUser(messageUser(ev)) {
			continue
		}
		if at.IsZero() || ev.At.Before(at) {
			at, detail = ev.At, "first message in the channel after the declaration"
		}
		break
	}
	return at, detail
}

// fixApplied is the first rollback that succeeded, else the first rollback
// event that reports success.
func (c *compiler) fixApplied() (time.Time, string) {
	var at time.Time
	detail := ""
	for _, r := range c.in.Rollbacks {
		if r.Status == incident.RollbackSucceeded && (at.IsZero() || r.UpdatedAt.Before(at)) {
			at, detail = r.UpdatedAt, "rollback succeeded: "+strings.TrimSuffix(strings.TrimSpace(r.Plan.Description), ".")
		}
	}
	if !at.IsZero() {
		return at, strings.TrimSuffix(strings.TrimSpace(detail), ":")
	}
	for _, ev := range c.events {
		if d, ok := ev.Payload.(incident.RollbackData); ok && d.Status == incident.RollbackSucceeded {
			return ev.At, "rollback succeeded"
		}
	}
	return at, ""
}

func (c *compiler) keyEvents() []Event {
	var out []Event
	for _, ev := range c.events {
		if !ev.Key || (ev.Kind == incident.EventMessage && deleted(ev)) {
			continue
		}
		actor := ev.Actor
		if ev.Kind == incident.EventMessage {
			actor = messageUser(ev)
		}
		out = append(out, Event{
			At:       ev.At,
			Kind:     ev.Kind,
			Actor:    c.name(actor),
			Text:     stripLeadingEmoji(plainText(ev.Text, c.name)),
			InThread: message(ev).ThreadTS != "" && message(ev).ThreadTS != message(ev).TS,
			Edited:   message(ev).Edited,
		})
	}
	return out
}

// summary writes the one paragraph for a non-technical reader: what, when,
// the user impact, the severity and how long it lasted. People are never
// named: a mention becomes "a responder".
func (c *compiler) summary(d Draft) string {
	anon := func(string) string { return "a responder" }
	var b strings.Builder
	what := strings.TrimSpace(c.inc.Title)
	if d.Service != "" {
		fmt.Fprintf(&b, "On %s at %s, the %s service had an incident: %s.", c.start.UTC().Format("Monday 2 January 2006"), clock(c.start), d.Service, sentence(what))
	} else {
		fmt.Fprintf(&b, "On %s at %s, an incident began: %s.", c.start.UTC().Format("Monday 2 January 2006"), clock(c.start), sentence(what))
	}
	impact := strings.TrimSpace(plainText(c.inc.Description, anon))
	if impact == "" && len(c.in.Updates) > 0 {
		impact = strings.TrimSpace(plainText(c.in.Updates[0].Text, anon))
	}
	if impact != "" {
		fmt.Fprintf(&b, " Impact on users: %s", punctuate(truncate(oneLine(impact), maxSummaryImpact)))
	} else {
		b.WriteString(" Impact on users: not recorded yet; describe who was affected and how.")
	}
	fmt.Fprintf(&b, " It was rated %s", c.inc.Severity)
	if c.sev.Label != "" {
		fmt.Fprintf(&b, " (%s", c.sev.Label)
		if m := strings.TrimSpace(c.sev.Meaning); m != "" {
			fmt.Fprintf(&b, ": %s", strings.TrimSuffix(lowerFirst(m), "."))
		}
		b.WriteString(")")
	}
	b.WriteString(".")
	if c.inc.ResolvedAt != nil {
		fmt.Fprintf(&b, " It lasted %s and was resolved at %s.", fmtDuration(d.Duration), clock(*c.inc.ResolvedAt))
		if s := strings.TrimSpace(plainText(c.inc.Summary, anon)); s != "" {
			fmt.Fprintf(&b, " Resolution: %s", punctuate(truncate(oneLine(s), maxSummaryImpact)))
		}
	} else {
		fmt.Fprintf(&b, " It has been open for %s so far (status: %s).", fmtDuration(d.Duration), statusLabel(c.inc.Status))
	}
	return b.String()
}

// Prompts for the sections the team writes.
const (
	RootCausePrompt = "What specific technical change or condition caused the failure, and how did it lead to the user impact? " +
		"Start from the facts below: they are what the bot recorded, not conclusions."
	ContributingPrompt = "Which gaps in our systems and processes (tests, alerts, guard rails, runbooks, tooling, paging) let the cause become an outage, " +
		"or made it last longer? Describe systems, not people."
)

func (c *compiler) rootCause() Analysis {
	a := Analysis{Prompt: RootCausePrompt}
	from := c.start.Add(-ChangeWindow)
	changes := make([]incident.ChangeEvent, 0)
	for _, ch := range c.in.Changes {
		if !ch.OccurredAt.Before(from) && !ch.OccurredAt.After(c.start) {
			changes = append(changes, ch)
		}
	}
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].OccurredAt.Before(changes[j].OccurredAt) })
	if len(changes) == 0 {
		a.Facts = append(a.Facts, fmt.Sprintf("No changes to production were recorded in the %s before the start.", fmtDuration(ChangeWindow)))
	}
	for _, ch := range changes {
		a.Facts = append(a.Facts, fmt.Sprintf("%s, %s before the start: %s.", clock(ch.OccurredAt), fmtDuration(c.start.Sub(ch.OccurredAt)), describeChange(ch)))
	}
	// What happened during the response, in time order.
	type fact struct {
		at   time.Time
		text string
	}
	var during []fact
	for _, r := range c.in.Rollbacks {
		during = append(during, fact{r.CreatedAt, describeRollback(r)})
	}
	for _, ev := range c.events {
		if ev.Kind == incident.EventProviderFailure {
			during = append(during, fact{ev.At, fmt.Sprintf("%s: %s reported a failure: %s",
				clock(ev.At), providerLabel(ev.Actor), punctuate(oneLine(plainText(ev.Text, c.name))))})
		}
	}
	sort.SliceStable(during, func(i, j int) bool { return during[i].at.Before(during[j].at) })
	for _, f := range during {
		a.Facts = append(a.Facts, f.text)
	}
	return a
}

func describeChange(ch incident.ChangeEvent) string {
	var b strings.Builder
	switch ch.Kind {
	case incident.ChangeDeploy:
		b.WriteString("deploy")
	case incident.ChangeFlag:
		b.WriteString("feature flag change")
	case incident.ChangePullRequest:
		b.WriteString("pull request merged")
	case incident.ChangeWorkflow:
		b.WriteString("workflow run")
	case incident.ChangeConfig:
		b.WriteString("configuration change")
	default:
		b.WriteString("change")
	}
	if ch.Service != "" {
		fmt.Fprintf(&b, " for %s", ch.Service)
	}
	if ch.Environment != "" {
		fmt.Fprintf(&b, " in %s", ch.Environment)
	}
	if s := strings.TrimSpace(ch.Summary); s != "" {
		fmt.Fprintf(&b, ", %q", oneLine(s))
	}
	var src []string
	if ch.Source != "" {
		src = append(src, providerLabel(ch.Source))
	}
	if ch.Ref != "" {
		src = append(src, shortRef(ch.Ref))
	}
	if len(src) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(src, " "))
	}
	if ch.URL != "" {
		fmt.Fprintf(&b, " %s", ch.URL)
	}
	return b.String()
}

func describeRollback(r incident.Rollback) string {
	what := strings.TrimSuffix(strings.TrimSpace(r.Plan.Description), ".")
	if what == "" {
		what = "rollback " + r.Key
	}
	head := fmt.Sprintf("%s: a rollback was requested: %s.", clock(r.CreatedAt), what)
	switch r.Status {
	case incident.RollbackSucceeded:
		return fmt.Sprintf("%s It succeeded at %s, %s after the request.", head, clock(r.UpdatedAt), fmtDuration(r.UpdatedAt.Sub(r.CreatedAt)))
	case incident.RollbackFailed:
		s := fmt.Sprintf("%s It failed at %s", head, clock(r.UpdatedAt))
		if d := strings.TrimSpace(r.Detail); d != "" {
			s += ": " + strings.TrimSuffix(oneLine(d), ".")
		}
		return s + "."
	case incident.RollbackRunning:
		return head + " It was still running when this draft was compiled."
	case incident.RollbackAwaitingApproval:
		return head + " It was never approved."
	}
	return head
}

func (c *compiler) contributingFactors(m Metrics) Analysis {
	a := Analysis{Prompt: ContributingPrompt}
	switch ackAt, _ := c.acknowledgedAt(); {
	case ackAt.IsZero():
		a.Facts = append(a.Facts, "No acknowledgement was recorded.")
	case m.AckTarget > 0 && !m.AckWithinTarget:
		a.Facts = append(a.Facts, fmt.Sprintf("The incident was acknowledged %s after it was declared; the %s target is %s.",
			fmtDuration(m.TimeToAcknowledge), c.inc.Severity, m.AckTargetText))
	}
	for _, p := range c.in.Pages {
		if p.AcknowledgedAt != nil {
			continue
		}
		notified := ""
		if n := len(p.Assignees); n > 0 {
			notified = fmt.Sprintf(", %d %s notified", n, plural(n, "person", "people"))
		}
		svc := ""
		if p.Service != "" {
			svc = " for " + p.Service
		}
		a.Facts = append(a.Facts, fmt.Sprintf("A page sent at %s%s (%s%s) was never acknowledged.", clock(p.CreatedAt), svc, providerLabel(p.Provider), notified))
	}
	if m.UpdatesExpected > 0 && m.UpdatesPosted < m.UpdatesExpected {
		a.Facts = append(a.Facts, fmt.Sprintf("%d status %s posted while users were affected; the cadence of one every %s asked for about %d.",
			m.UpdatesPosted, plural(m.UpdatesPosted, "update was", "updates were"), fmtDuration(m.UpdateEvery), m.UpdatesExpected))
	}
	if _, ok := c.first(incident.EventChangesShown); !ok {
		a.Facts = append(a.Facts, "Recent changes were never listed in the channel during the response.")
	}
	for _, r := range c.in.Rollbacks {
		if r.Status == incident.RollbackSucceeded && r.UpdatedAt.Sub(r.CreatedAt) > FastRollback {
			a.Facts = append(a.Facts, fmt.Sprintf("A rollback took %s from request to success; the goal is under %s.",
				fmtDuration(r.UpdatedAt.Sub(r.CreatedAt)), fmtDuration(FastRollback)))
		}
	}
	return a
}

// ackPages returns the pages that were acknowledged.
func (c *compiler) ackPages() []incident.Page {
	var out []incident.Page
	for _, p := range c.in.Pages {
		if p.AcknowledgedAt != nil {
			out = append(out, p)
		}
	}
	return out
}

func (c *compiler) wentWell(m Metrics) []string {
	var out []string
	if m.AckWithinTarget {
		out = append(out, fmt.Sprintf("The incident was acknowledged %s after it was declared, inside the %s target of %s.",
			fmtDuration(m.TimeToAcknowledge), c.inc.Severity, m.AckTargetText))
	}
	for _, ev := range c.events {
		if commanderAssigned(ev) {
			switch d := ev.At.Sub(c.inc.DeclaredAt); {
			case d < time.Second:
				out = append(out, "An Incident Commander was in place from the moment the incident was declared.")
			case d <= 5*time.Minute:
				out = append(out, fmt.Sprintf("An Incident Commander was in place %s after the declaration.", fmtDuration(d)))
			}
			break
		}
	}
	if ev, ok := c.first(incident.EventChangesShown); ok {
		out = append(out, fmt.Sprintf("Recent changes were listed in the channel %s after the declaration.", fmtDuration(ev.At.Sub(c.inc.DeclaredAt))))
	}
	for _, r := range c.in.Rollbacks {
		if d := r.UpdatedAt.Sub(r.CreatedAt); r.Status == incident.RollbackSucceeded && d < FastRollback {
			out = append(out, fmt.Sprintf("A rollback completed in %s, under the %s goal: %s.",
				fmtDuration(d), fmtDuration(FastRollback), strings.TrimSuffix(strings.TrimSpace(r.Plan.Description), ".")))
		}
	}
	if m.UpdatesExpected > 0 && m.UpdatesPosted >= m.UpdatesExpected {
		out = append(out, fmt.Sprintf("%d status %s posted, meeting the cadence of one every %s (about %d expected).",
			m.UpdatesPosted, plural(m.UpdatesPosted, "update was", "updates were"), fmtDuration(m.UpdateEvery), m.UpdatesExpected))
	}
	if acked := len(c.ackPages()); acked > 0 && acked == len(c.in.Pages) {
		out = append(out, fmt.Sprintf("Every page was acknowledged (%d %s).", acked, plural(acked, "page", "pages")))
	}
	if c.inc.MitigatedAt != nil && c.inc.ResolvedAt != nil && c.inc.MitigatedAt.Before(*c.inc.ResolvedAt) {
		out = append(out, fmt.Sprintf("User impact was mitigated %s after the declaration, %s before the full resolution.",
			fmtDuration(m.TimeToMitigate), fmtDuration(c.inc.ResolvedAt.Sub(*c.inc.MitigatedAt))))
	}
	return out
}

func (c *compiler) actions() []Action {
	out := make([]Action, 0, len(c.in.ActionItems))
	for _, it := range c.in.ActionItems {
		a := Action{
			Text:        oneLine(plainText(it.Text, c.name)),
			Done:        it.Done,
			URL:         it.ExternalURL,
			OwnerNeeded: it.Owner == "",
			DueNeeded:   it.DueOn == nil,
			Item:        it,
		}
		if it.Owner != "" {
			a.Owner = c.name(it.Owner)
		}
		if it.DueOn != nil {
			a.Due = *it.DueOn
		}
		out = append(out, a)
	}
	return out
}

// participants lists everyone who acted or wrote: message authors, the
// actors of the bot's events, status-update authors, the people who asked for
// or approved a rollback, the role holders and whoever acknowledged a page.
func (c *compiler) participants() (all, mostActive []Participant) {
	byID := map[string]*Participant{}
	var order []string
	add := func(id string) *Participant {
		if p, ok := byID[id]; ok {
			return p
		}
		p := &Participant{ID: id, Name: c.name(id)}
		byID[id] = p
		order = append(order, id)
		return p
	}
	for _, ev := range c.events {
		actor := ev.Actor
		if ev.Kind == incident.EventMessage {
			actor = messageUser(ev)
		}
		if c.isUser(actor) {
			add(actor)
		}
	}
	for _, u := range c.in.Updates {
		if c.isUser(u.Author) {
			add(u.Author)
		}
	}
	for _, r := range c.in.Rollbacks {
		for _, id := range []string{r.RequestedBy, r.ApprovedBy} {
			if c.isUser(id) {
				add(id)
			}
		}
	}
	if c.isUser(c.inc.DeclaredBy) {
		add(c.inc.DeclaredBy)
	}
	if c.isUser(c.inc.Commander) {
		p := add(c.inc.Commander)
		p.Roles = append(p.Roles, "Incident Commander")
	}
	roles := make([]string, 0, len(c.inc.Roles))
	for r := range c.inc.Roles {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, r := range roles {
		if id := c.inc.Roles[r]; c.isUser(id) {
			p := add(id)
			p.Roles = append(p.Roles, r+" lead")
		}
	}
	for _, pg := range c.in.Pages {
		if pg.AcknowledgedBy != "" && !c.knownName(pg.AcknowledgedBy, byID) {
			// The provider names the person; key the entry by that name.
			p := add("name:" + pg.AcknowledgedBy)
			p.ID, p.Name = "", pg.AcknowledgedBy
		}
	}
	for id, n := range c.perUser {
		if p, ok := byID[id]; ok {
			p.Messages = n
		}
	}
	all = make([]Participant, 0, len(order))
	for _, id := range order {
		all = append(all, *byID[id])
	}
	sort.SliceStable(all, func(i, j int) bool { return strings.ToLower(all[i].Name) < strings.ToLower(all[j].Name) })
	for _, p := range all {
		if p.Messages > 0 {
			mostActive = append(mostActive, p)
		}
	}
	sort.SliceStable(mostActive, func(i, j int) bool { return mostActive[i].Messages > mostActive[j].Messages })
	if len(mostActive) > MostActiveLimit {
		mostActive = mostActive[:MostActiveLimit]
	}
	return all, mostActive
}

// knownName reports whether a provider-side name is already a participant.
func (c *compiler) knownName(name string, byID map[string]*Participant) bool {
	for _, p := range byID {
		if strings.EqualFold(p.Name, name) {
			return true
		}
	}
	return false
}

// Formatting helpers. Times are UTC and durations read like the templates'
// duration function, so facts and tables agree.

func clock(t time.Time) string {
	if t.IsZero() {
		return "an unrecorded time"
	}
	return t.UTC().Format("15:04 UTC")
}

func fmtDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0 && m == 0:
		return fmt.Sprintf("%dh", h)
	case h > 0:
		return fmt.Sprintf("%dh %02dm", h, m)
	case m > 0 && s == 0:
		return fmt.Sprintf("%dm", m)
	case m > 0:
		return fmt.Sprintf("%dm %02ds", m, s)
	default:
		return fmt.Sprintf("%ds", s)
	}
}

func positive(d time.Duration) time.Duration { return max(d, 0) }

func minTime(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func statusLabel(s incident.Status) string {
	if s == "" {
		return incident.StatusDeclared.Label()
	}
	return s.Label()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func providerLabel(p string) string {
	if p == "" {
		return "a provider"
	}
	return incident.ProviderName(p)
}

func shortRef(ref string) string {
	if len(ref) == 40 && isHex(ref) {
		return ref[:7]
	}
	return ref
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= '0' && ch <= '9') && !(ch >= 'a' && ch <= 'f') && !(ch >= 'A' && ch <= 'F') {
			return false
		}
	}
	return true
}

// sentence lower-cases nothing but strips a trailing full stop, so a title
// reads inside a sentence.
func sentence(s string) string { return strings.TrimRight(strings.TrimSpace(s), ".") }

// punctuate ends s with a full stop unless it already ends a sentence.
func punctuate(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	switch s[len(s)-1] {
	case '.', '!', '?':
		return s
	}
	return s + "."
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return strings.ToLower(string(r)) + s[n:]
}

// truncate cuts s to at most n runes on a word boundary and marks the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut := string([]rune(s)[:n])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:.") + "…"
}

// eventUser is the person an event's payload names: a message's author, a
// role's new holder; "" for any other event.
func eventUser(ev incident.TimelineEvent) string {
	switch d := ev.Payload.(type) {
	case incident.MessageData:
		return d.User
	case incident.RoleAssignedData:
		return d.User
	}
	return ""
}
