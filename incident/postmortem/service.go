package postmortem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// Job kinds the Service runs.
const (
	// JobDraft backfills the channel, compiles the draft and posts it in
	// the incident channel with its export buttons.
	JobDraft = "postmortem.draft"
	// JobExport publishes the current draft through one exporter.
	JobExport = "postmortem.export"
)

const (
	draftAttempts  = 6
	exportAttempts = 5
	// nameLookups bounds the concurrent user-name lookups of one draft:
	// users.info is Tier 4, and a draft names a few dozen people at most.
	nameLookups = 8
	// summaryFacts bounds the root-cause facts quoted in the summary.
	summaryFacts = 3
	// summaryNotes bounds the review notes quoted in the summary.
	summaryNotes = 3
)

// Store is what postmortems read and write: the incident and everything
// recorded about it, the changes and rollbacks around it that package
// changes keeps, and where it was exported. incident.Store's
// implementations are one.
type Store interface {
	GetIncident(ctx context.Context, id int64) (*incident.Incident, error)
	ListTimeline(ctx context.Context, incidentID int64) ([]incident.TimelineEvent, error)
	AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error
	ListStatusUpdates(ctx context.Context, incidentID int64) ([]incident.StatusUpdate, error)
	ListActionItems(ctx context.Context, incidentID int64) ([]incident.ActionItem, error)
	ListPages(ctx context.Context, incidentID int64) ([]incident.Page, error)
	ListChangeEvents(ctx context.Context, service string, from, to time.Time) ([]incident.ChangeEvent, error)
	ListRollbacks(ctx context.Context, incidentID int64) ([]incident.Rollback, error)
	incident.ExportStore
}

// Config holds the Service's dependencies.
type Config struct {
	Store Store
	// Backfill fills the timeline from the channel before a draft
	// (*capture.Service); nil skips the backfill.
	Backfill  Backfiller
	Chat      Chat
	Scheduler incident.Scheduler
	// Exporters are the configured export targets, in the order their
	// buttons are shown; each is addressed by its lower-cased Name().
	Exporters []incident.Exporter
	Renderer  Renderer
	// Policy is the incident policy; zero means the default.
	Policy incident.Policy
	Clock  incident.Clock
	Logger *slog.Logger
	// Split cuts the Markdown draft into pieces that each fit one chat
	// message once worded; the chat transport provides it. Nil posts the
	// draft as one piece.
	Split func(markdown string) []string
}

// Chat is what the postmortem needs of the chat platform: to say its
// notices, bookmark an export, and name the people of the timeline.
type Chat interface {
	Notify(ctx context.Context, channelID string, n incident.Notice) (ts string, err error)
	Tell(ctx context.Context, to incident.ReplyTarget, n incident.Notice) error
	AddBookmark(ctx context.Context, channelID, title, link string) error
	UserName(ctx context.Context, userID string) (string, error)
}

// Backfiller reads an incident channel back into the timeline, returning
// how many messages it added.
type Backfiller interface {
	Backfill(ctx context.Context, id int64) (int, error)
}

// Service drafts postmortems when incidents close (or on demand), posts them
// in the incident channel, and exports them. All Slack and exporter work
// runs in durable jobs: a slow or failing Confluence never holds up a
// command, and a retry resumes without posting anything twice.
type Service struct {
	store     Store
	backfill  Backfiller
	chat      Chat
	sched     incident.Scheduler
	exporters []incident.Exporter
	renderer  Renderer
	policy    incident.Policy
	clock     incident.Clock
	log       *slog.Logger
	split     func(string) []string
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = incident.SystemClock
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Policy.Severities == nil {
		cfg.Policy = incident.DefaultPolicy()
	}
	if cfg.Split == nil {
		cfg.Split = func(md string) []string { return []string{md} }
	}
	return &Service{split: cfg.Split, store: cfg.Store, backfill: cfg.Backfill, chat: cfg.Chat, sched: cfg.Scheduler,
		exporters: cfg.Exporters, renderer: cfg.Renderer, policy: cfg.Policy, clock: cfg.Clock, log: cfg.Logger}
}

// RegisterJobs registers the draft and export job handlers.
func (s *Service) RegisterJobs(r interface {
	Handle(kind string, h incident.JobHandler)
}) {
	r.Handle(JobDraft, s.runDraft)
	r.Handle(JobExport, s.runExport)
}

// Targets lists the configured export targets ("confluence", "github").
func (s *Service) Targets() []string {
	out := make([]string, 0, len(s.exporters))
	for _, e := range s.exporters {
		out = append(out, targetName(e))
	}
	return out
}

func targetName(e incident.Exporter) string { return strings.ToLower(e.Name()) }

func (s *Service) exporter(target string) incident.Exporter {
	for _, e := range s.exporters {
		if targetName(e) == target {
			return e
		}
	}
	return nil
}

type draftPayload struct {
	IncidentID int64 `json:"incident_id"`
	// Run names this draft; the messages it posted are recorded under it,
	// so a retry posts only what is missing.
	Run string `json:"run"`
}

// Feature joins the core's lifecycle: closing an incident drafts its
// postmortem. Add it with the core's Use.
func (s *Service) Feature() incident.Feature {
	return incident.Feature{Name: "postmortem", Hook: func(ctx context.Context, c incident.Change) error {
		if c.Kind != incident.EventStatusChanged || incident.Status(c.To) != incident.StatusClosed {
			return nil
		}
		return s.ScheduleDraft(ctx, c.Incident)
	}}
}

// ScheduleDraft schedules the draft of an incident's postmortem. It is the
// close's hook (Feature) and the on-demand command: a draft is keyed by the
// incident's last change and the minute, so a double close or a repeated
// command drafts once, while a re-close, or a request a minute later after
// more notes, drafts again.
func (s *Service) ScheduleDraft(ctx context.Context, inc *incident.Incident) error {
	if inc == nil {
		return incident.Errorf(incident.EINVALID, "No incident to draft a postmortem for.")
	}
	run := fmt.Sprintf("%d:%d:%d", inc.ID, inc.UpdatedAt.UnixNano(), s.clock.Now().Unix()/60)
	payload, _ := json.Marshal(draftPayload{IncidentID: inc.ID, Run: run})
	if _, err := s.sched.Schedule(ctx, incident.Job{Kind: JobDraft, Key: "draft:" + run, Payload: payload, MaxAttempts: draftAttempts}); err != nil {
		return fmt.Errorf("schedule the postmortem draft of %s: %w", inc.Key(), err)
	}
	return nil
}

type exportPayload struct {
	IncidentID int64                `json:"incident_id"`
	Target     string               `json:"target"`
	Actor      string               `json:"actor"`
	Reply      incident.ReplyTarget `json:"reply"`
}

// Export schedules the export of an incident's current draft to a target
// ("confluence", "github"). A re-export updates the document exported
// before. EINVALID for an unknown target (the message lists the configured
// ones); ENOTFOUND for an unknown incident.
func (s *Service) Export(ctx context.Context, incidentID int64, target, actor string, reply incident.ReplyTarget) error {
	target = strings.ToLower(strings.TrimSpace(target))
	if len(s.exporters) == 0 {
		return incident.Errorf(incident.EINVALID, "No postmortem export is configured: set CONFLUENCE_URL (with its e-mail, API token and space) or GITHUB_POSTMORTEM_REPO.")
	}
	if s.exporter(target) == nil {
		return incident.Errorf(incident.EINVALID, "Unknown export target %q: use %s.", target, strings.Join(s.Targets(), " or "))
	}
	inc, err := s.store.GetIncident(ctx, incidentID)
	if err != nil {
		return fmt.Errorf("export postmortem: %w", err)
	}
	payload, _ := json.Marshal(exportPayload{IncidentID: inc.ID, Target: target, Actor: actor, Reply: reply})
	// Keyed by the minute: a double click exports once.
	key := fmt.Sprintf("export:%d:%s:%d", inc.ID, target, s.clock.Now().Unix()/60)
	if _, err := s.sched.Schedule(ctx, incident.Job{Kind: JobExport, Key: key, Payload: payload, MaxAttempts: exportAttempts}); err != nil {
		return fmt.Errorf("schedule the postmortem export of %s: %w", inc.Key(), err)
	}
	return nil
}

// exportDoc composes the document that leaves Slack. A private incident's
// title is replaced by "Private incident INC-42" everywhere in it unless the
// policy's private_incidents.exports is full.
func (s *Service) exportDoc(ctx context.Context, inc *incident.Incident) (incident.PostmortemDoc, error) {
	shown := incident.DisclosedTitle(inc, s.policy.PrivateExports)
	if shown == inc.Title {
		_, doc, _, err := s.compose(ctx, inc)
		return doc, err
	}
	redacted := *inc
	redacted.Title = shown
	_, doc, _, err := s.compose(ctx, &redacted)
	if err != nil {
		return doc, err
	}
	// The timeline quotes the title too, as typed and as escaped for the
	// page's markup.
	for _, form := range []string{inc.Title, html.EscapeString(inc.Title)} {
		if strings.TrimSpace(form) == "" {
			continue
		}
		doc.Markdown = strings.ReplaceAll(doc.Markdown, form, shown)
		doc.Confluence = strings.ReplaceAll(doc.Confluence, form, shown)
	}
	doc.Title = shown
	return doc, nil
}

// Draft loads everything recorded about an incident, resolves the people's
// names, compiles the draft and renders it. It does not backfill.
func (s *Service) Draft(ctx context.Context, incidentID int64) (Draft, incident.PostmortemDoc, error) {
	inc, err := s.store.GetIncident(ctx, incidentID)
	if err != nil {
		return Draft{}, incident.PostmortemDoc{}, fmt.Errorf("postmortem draft: %w", err)
	}
	d, doc, _, err := s.compose(ctx, inc)
	return d, doc, err
}

// compose is Draft for a loaded incident; it also returns the input, whose
// timeline tells a retried job what it already posted.
func (s *Service) compose(ctx context.Context, inc *incident.Incident) (Draft, incident.PostmortemDoc, Input, error) {
	in, err := s.load(ctx, inc)
	if err != nil {
		return Draft{}, incident.PostmortemDoc{}, in, err
	}
	in.UserNames = s.names(ctx, in)
	d := Compile(in)
	doc, err := Document(d, s.renderer)
	if err != nil {
		return d, doc, in, fmt.Errorf("render the postmortem of %s: %w", inc.Key(), err)
	}
	return d, doc, in, nil
}

// load reads the incident's record from the store.
func (s *Service) load(ctx context.Context, inc *incident.Incident) (Input, error) {
	in := Input{Incident: inc, Policy: s.policy, Now: s.clock.Now()}
	var err error
	fail := func(what string, err error) (Input, error) {
		return in, fmt.Errorf("load the %s of %s: %w", what, inc.Key(), err)
	}
	if in.Timeline, err = s.store.ListTimeline(ctx, inc.ID); err != nil {
		return fail("timeline", err)
	}
	if in.Updates, err = s.store.ListStatusUpdates(ctx, inc.ID); err != nil {
		return fail("status updates", err)
	}
	if in.ActionItems, err = s.store.ListActionItems(ctx, inc.ID); err != nil {
		return fail("action items", err)
	}
	if in.Pages, err = s.store.ListPages(ctx, inc.ID); err != nil {
		return fail("pages", err)
	}
	if in.Rollbacks, err = s.store.ListRollbacks(ctx, inc.ID); err != nil {
		return fail("rollbacks", err)
	}
	// Changes from the window before the earliest sign of the incident to
	// its end, as Compile measures them.
	start := inc.DeclaredAt
	for _, ev := range in.Timeline {
		if !ev.At.IsZero() && ev.At.Before(start) {
			start = ev.At
		}
	}
	for _, p := range in.Pages {
		if !p.CreatedAt.IsZero() && p.CreatedAt.Before(start) {
			start = p.CreatedAt
		}
	}
	end := in.Now
	if inc.ResolvedAt != nil {
		end = *inc.ResolvedAt
	}
	if in.Changes, err = s.store.ListChangeEvents(ctx, inc.Service, start.Add(-ChangeWindow), end); err != nil {
		return fail("changes", err)
	}
	return in, nil
}

// names resolves the display name of everyone the draft mentions, each once,
// a few at a time. A failed lookup leaves the id, which Compile shows as is:
// a draft with an id is better than no draft.
func (s *Service) names(ctx context.Context, in Input) map[string]string {
	ids := map[string]bool{}
	add := func(id string) {
		if slackUserID(id) {
			ids[id] = true
		}
	}
	addMentions := func(text string) {
		for _, m := range userMentions(text) {
			add(m.id)
		}
	}
	inc := in.Incident
	add(inc.DeclaredBy)
	add(inc.Commander)
	for _, u := range inc.Roles {
		add(u)
	}
	for _, ev := range in.Timeline {
		add(ev.Actor)
		add(eventUser(ev))
		addMentions(ev.Text)
	}
	for _, u := range in.Updates {
		add(u.Author)
	}
	for _, a := range in.ActionItems {
		add(a.Owner)
		addMentions(a.Text)
	}
	for _, r := range in.Rollbacks {
		add(r.RequestedBy)
		add(r.ApprovedBy)
	}
	addMentions(inc.Description)
	addMentions(inc.Summary)

	names := make(map[string]string, len(ids))
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		failed int
		sem    = make(chan struct{}, nameLookups)
	)
	for id := range ids {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			name, err := s.chat.UserName(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || name == "" {
				failed++
				return
			}
			names[id] = name
		})
	}
	wg.Wait()
	if failed > 0 {
		s.log.WarnContext(ctx, "some user names could not be looked up; the draft shows their ids", "incident", inc.Key(), "failed", failed)
	}
	return names
}

// runDraft is the JobDraft handler.
func (s *Service) runDraft(ctx context.Context, payload []byte) error {
	var p draftPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode draft payload: %w: %w", err, incident.ErrJobCancel)
	}
	inc, err := s.store.GetIncident(ctx, p.IncidentID)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return fmt.Errorf("postmortem draft: %w: %w", err, incident.ErrJobCancel)
	} else if err != nil {
		return fmt.Errorf("postmortem draft: %w", err)
	}
	if inc.ChannelID == "" {
		s.log.WarnContext(ctx, "no channel to post the postmortem draft in", "incident", inc.Key())
		return fmt.Errorf("postmortem draft of %s: no channel: %w", inc.Key(), incident.ErrJobCancel)
	}
	backfillFailed := false
	if s.backfill != nil {
		if _, err := s.backfill.Backfill(ctx, inc.ID); err != nil {
			attempt, max := incident.JobAttempt(ctx)
			if max == 0 || attempt < max {
				return fmt.Errorf("postmortem draft of %s: %w", inc.Key(), err)
			}
			// The last attempt drafts from what was captured live rather
			// than not at all, and says so.
			s.log.WarnContext(ctx, "drafting without a backfill", "incident", inc.Key(), "err", err)
			backfillFailed = true
		}
	}
	d, doc, in, err := s.compose(ctx, inc)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	prefix := "postmortem:" + p.Run + ":"
	for _, ev := range in.Timeline {
		if strings.HasPrefix(ev.SourceID, prefix) {
			done[ev.SourceID] = true
		}
	}
	parts := s.split(doc.Markdown)
	if len(parts) == 0 {
		parts = []string{""}
	}
	if src := prefix + "summary"; !done[src] {
		if err := s.postSummary(ctx, inc, DraftNotice(d, len(parts), backfillFailed)); err != nil {
			return fmt.Errorf("post the postmortem draft of %s: %w", inc.Key(), err)
		}
		s.record(ctx, inc, src, "Postmortem draft posted in the channel")
	}
	for i, part := range parts {
		src := prefix + "part:" + strconv.Itoa(i+1)
		if done[src] {
			continue
		}
		n := incident.Notice{Kind: incident.NoticePostmortemPart, Incident: d.Key, Actor: "bot",
			Values: map[string]string{"markdown": part, "part": strconv.Itoa(i + 1), "parts": strconv.Itoa(len(parts))}}
		if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
			return fmt.Errorf("post part %d of the postmortem draft of %s: %w", i+1, inc.Key(), err)
		}
		s.record(ctx, inc, src, fmt.Sprintf("Postmortem draft part %d of %d posted", i+1, len(parts)))
	}
	return nil
}

func (s *Service) postSummary(ctx context.Context, inc *incident.Incident, n incident.Notice) error {
	buttons := make([]incident.Button, 0, len(s.exporters))
	for i, e := range s.exporters {
		b := incident.Button{Action: incident.ActionExport, Text: "Export to " + e.Name(), Value: exportValue(inc.ID, targetName(e))}
		if i == 0 {
			b.Style = "primary"
		}
		buttons = append(buttons, b)
	}
	n.Buttons = buttons
	_, err := s.chat.Notify(ctx, inc.ChannelID, n)
	return err
}

// exportValue is the value of an export button: "<incident id>:<target>".
func exportValue(id int64, target string) string { return fmt.Sprintf("%d:%s", id, target) }

// ParseExportValue reads an export button's value.
func ParseExportValue(v string) (id int64, target string, err error) {
	idText, target, ok := strings.Cut(v, ":")
	id, perr := strconv.ParseInt(idText, 10, 64)
	if !ok || perr != nil || id <= 0 || target == "" {
		return 0, "", incident.Errorf(incident.EINVALID, "The button does not name an incident and an export target.")
	}
	return id, target, nil
}

// record notes the bot's postmortem work on the timeline. It is how a retry
// knows what was posted; failing to record only risks a repeat, so it is
// logged rather than failing the job.
func (s *Service) record(ctx context.Context, inc *incident.Incident, sourceID, text string) {
	err := s.store.AddTimelineEvent(ctx, &incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventPostmortem, Actor: "bot",
		At: s.clock.Now(), Text: text, SourceID: sourceID})
	if err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
		s.log.WarnContext(ctx, "could not record postmortem progress", "incident", inc.Key(), "step", sourceID, "err", err)
	}
}

// DraftNotice condenses a draft into the notice posted above it: the
// summary paragraph, the metrics, the recorded milestones, the first
// root-cause facts, the action items' gaps and the blameless check's review
// notes. parts is how many pieces the full draft follows in.
func DraftNotice(d Draft, parts int, backfillFailed bool) incident.Notice {
	m := d.Metrics
	ack := metric(m.TimeToAcknowledge)
	if m.AckTarget > 0 && m.TimeToAcknowledge > 0 {
		verdict := "missed"
		if m.AckWithinTarget {
			verdict = "met"
		}
		ack += fmt.Sprintf(" (target %s %s)", m.AckTargetText, verdict)
	}
	metrics := fmt.Sprintf("acknowledged %s · mitigated %s · resolved %s", ack, metric(m.TimeToMitigate), metric(m.TimeToResolve))
	switch {
	case m.PublicPosted:
		metrics += fmt.Sprintf(" · first public update %s", metric(m.TimeToFirstPublic))
		if m.PublicTarget > 0 {
			verdict := "missed"
			if m.PublicWithinTarget {
				verdict = "met"
			}
			metrics += fmt.Sprintf(" (target %s %s)", fmtDuration(m.PublicTarget), verdict)
		}
	case m.PublicTarget > 0:
		metrics += fmt.Sprintf(" · status page never posted (target %s)", fmtDuration(m.PublicTarget))
	}
	if !m.CustomersEmailed.IsZero() {
		metrics += fmt.Sprintf(" · customers told by e-mail at %s", clockShort(m.CustomersEmailed))
	}

	var recorded, missing []string
	for _, ms := range d.Timeline {
		if ms.Recorded {
			recorded = append(recorded, clockShort(ms.At)+" "+ms.Name)
		} else {
			missing = append(missing, ms.Name)
		}
	}
	owners, dues := 0, 0
	for _, a := range d.ActionItems {
		if a.OwnerNeeded {
			owners++
		}
		if a.DueNeeded {
			dues++
		}
	}
	n := incident.Notice{Kind: incident.NoticePostmortemDraft, Incident: d.Key, Actor: "bot", Values: map[string]string{
		"title": d.Title, "summary": truncate(d.Summary, 700), "metrics": metrics,
		"timeline": strings.Join(recorded, " → "), "missing": strings.ToLower(strings.Join(missing, ", ")),
		"key_events": strconv.Itoa(len(d.KeyEvents)), "action_items": strconv.Itoa(len(d.ActionItems)),
		"no_owner": strconv.Itoa(owners), "no_due": strconv.Itoa(dues),
		"review_notes": strconv.Itoa(len(d.ReviewNotes)), "parts": strconv.Itoa(parts),
		"backfill_failed": strconv.FormatBool(backfillFailed),
	}}
	for i, f := range d.RootCause.Facts {
		if i == summaryFacts {
			n.Values["more_facts"] = strconv.Itoa(len(d.RootCause.Facts) - summaryFacts)
			break
		}
		n.Items = append(n.Items, incident.Notice{Kind: incident.NoticePostmortemFact, Incident: d.Key, Values: map[string]string{"text": truncate(f, 220)}})
	}
	for i, f := range d.ReviewNotes {
		if i == summaryNotes {
			n.Values["more_notes"] = strconv.Itoa(len(d.ReviewNotes) - summaryNotes)
			break
		}
		n.Items = append(n.Items, incident.Notice{Kind: incident.NoticePostmortemReviewNote, Incident: d.Key,
			Values: map[string]string{"section": f.Section, "phrase": truncate(f.Phrase, 80)}})
	}
	return n
}

func metric(d time.Duration) string {
	if d <= 0 {
		return "not recorded"
	}
	return "in " + fmtDuration(d)
}

func clockShort(t time.Time) string { return t.UTC().Format("15:04") }

// runExport is the JobExport handler.
func (s *Service) runExport(ctx context.Context, payload []byte) error {
	var p exportPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode export payload: %w: %w", err, incident.ErrJobCancel)
	}
	inc, err := s.store.GetIncident(ctx, p.IncidentID)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return fmt.Errorf("postmortem export: %w: %w", err, incident.ErrJobCancel)
	} else if err != nil {
		return fmt.Errorf("postmortem export: %w", err)
	}
	exp := s.exporter(p.Target)
	if exp == nil {
		return fmt.Errorf("postmortem export of %s: target %q is no longer configured: %w", inc.Key(), p.Target, incident.ErrJobCancel)
	}
	doc, err := s.exportDoc(ctx, inc)
	if err != nil {
		return err
	}
	prev, err := s.store.GetExport(ctx, inc.ID, p.Target)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		prev, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("postmortem export of %s: %w", inc.Key(), err)
	}
	ref, err := exp.Export(ctx, doc, prev)
	if err != nil {
		return s.exportFailed(ctx, inc, p, exp, err)
	}
	if ref.Target == "" {
		ref.Target = p.Target
	}
	if err := s.store.SaveExport(ctx, inc.ID, ref); err != nil {
		// The retry finds the document (by title, by branch) and updates it.
		return fmt.Errorf("record the postmortem export of %s: %w", inc.Key(), err)
	}
	verb := "exported"
	if prev != nil && prev.ID == ref.ID {
		verb = "updated"
	}
	done := incident.Notice{Kind: incident.NoticePostmortemExported, Incident: inc.Key(), Actor: p.Actor,
		Values: map[string]string{"verb": verb, "target": exp.Name(), "url": ref.URL}}
	if ref.Version > 1 {
		done.Values["version"] = strconv.Itoa(ref.Version)
	}
	if inc.ChannelID == "" {
		if err := s.chat.Tell(ctx, p.Reply, done); err != nil {
			s.log.WarnContext(ctx, "could not tell the exporter where the postmortem is", "incident", inc.Key(), "err", err)
		}
	} else {
		if _, err := s.chat.Notify(ctx, inc.ChannelID, done); err != nil {
			s.log.WarnContext(ctx, "could not post the postmortem link", "incident", inc.Key(), "err", err)
		}
		if ref.URL != "" && (prev == nil || prev.URL != ref.URL) {
			if err := s.chat.AddBookmark(ctx, inc.ChannelID, "Postmortem ("+exp.Name()+")", ref.URL); err != nil {
				s.log.WarnContext(ctx, "could not bookmark the postmortem", "incident", inc.Key(), "err", err)
			}
		}
	}
	s.record(ctx, inc, fmt.Sprintf("postmortem:export:%s:%s:%d", p.Target, ref.ID, ref.Version),
		fmt.Sprintf("Postmortem %s in %s: %s", verb, exp.Name(), ref.URL))
	return nil
}

// exportFailed says in the channel why an export failed: at once with a
// Retry button when retrying cannot help (bad credentials, a missing space,
// a rejected page), else on the first failure (retrying) and after the last
// attempt (with Retry). A rate limit is left to the job engine, which waits
// as long as the exporter asked.
func (s *Service) exportFailed(ctx context.Context, inc *incident.Incident, p exportPayload, exp incident.Exporter, cause error) error {
	var limited interface{ RetryAfter() time.Duration }
	if errors.As(cause, &limited) && limited.RetryAfter() > 0 {
		return fmt.Errorf("export the postmortem of %s to %s: %w", inc.Key(), exp.Name(), cause)
	}
	attempt, max := incident.JobAttempt(ctx)
	code := incident.ErrorCode(cause)
	refused := code == incident.EINVALID || code == incident.EFORBIDDEN || code == incident.ENOTFOUND
	final := refused || (max > 0 && attempt >= max)
	if final || attempt <= 1 {
		n := incident.Notice{Kind: incident.NoticePostmortemExportFailed, Incident: inc.Key(), Actor: "bot",
			Values: map[string]string{"target": exp.Name(), "error": incident.ErrorMessage(cause), "retry": "background"}}
		if final {
			n.Values["retry"] = "final"
			n.Buttons = []incident.Button{{Action: incident.ActionExport, Text: "Retry export to " + exp.Name(), Value: exportValue(inc.ID, p.Target), Style: "primary"}}
		}
		var err error
		if inc.ChannelID != "" {
			_, err = s.chat.Notify(ctx, inc.ChannelID, n)
		} else {
			err = s.chat.Tell(ctx, p.Reply, n)
		}
		if err != nil {
			s.log.WarnContext(ctx, "could not report the failed export", "incident", inc.Key(), "err", err)
		}
		s.record(ctx, inc, fmt.Sprintf("postmortem:exportfail:%s:%d:%d", p.Target, s.clock.Now().Unix(), attempt),
			fmt.Sprintf("Postmortem export to %s failed: %s", exp.Name(), incident.ErrorMessage(cause)))
	}
	err := fmt.Errorf("export the postmortem of %s to %s: %w", inc.Key(), exp.Name(), cause)
	if refused {
		return fmt.Errorf("%w: %w", err, incident.ErrJobCancel)
	}
	return err
}
