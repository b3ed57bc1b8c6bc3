package postmortem

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// draftPayload is the payload of both jobs of a draft: the one that
// compiles it and the one that posts it, which carries it pinned.
type draftPayload struct {
	IncidentID int64 `json:"incident_id"`
	// Run names this draft; the messages posted of it are recorded under
	// it and its version, so a retry posts only what is missing.
	Run string `json:"run"`
	// Pinned is the draft to post, as the first attempt of the compiling
	// job compiled it; nil on the compiling job.
	Pinned *pinnedDraft `json:"pinned,omitempty"`
}

// pinnedDraft is one version of a draft: its summary and its Markdown parts.
// Every attempt of the posting job posts from it, so a retry resumes the
// same document, in the same parts, however the incident's record changed
// in between. Its messages carry the posting job's id in their keys, which
// so names the version too.
type pinnedDraft struct {
	// Version fingerprints the parts; the posts are recorded under it.
	Version string          `json:"version"`
	Summary incident.Notice `json:"summary"`
	Parts   []string        `json:"parts"`
}

// ScheduleDraft schedules the draft of an incident's postmortem on demand
// (the command): a draft is keyed by the incident's last change and the
// minute, so a repeated command drafts once, while a request a minute later
// after more notes drafts again. The close's hook (Feature) drafts once per
// close (draftOnClose).
func (s *Service) ScheduleDraft(ctx context.Context, inc *incident.Incident) error {
	if inc == nil {
		return incident.Errorf(incident.EINVALID, "No incident to draft a postmortem for.")
	}
	return s.scheduleDraft(ctx, inc, fmt.Sprintf("%d:%d:%d", inc.ID, inc.UpdatedAt.UnixNano(), s.clock.Now().Unix()/60))
}

// draftOnClose schedules the draft of a close: keyed by the close alone (the
// incident as the close left it), so the close's hooks run again (a retry
// of incident.JobHooks, a minute later) draft it once.
func (s *Service) draftOnClose(ctx context.Context, inc *incident.Incident) error {
	return s.scheduleDraft(ctx, inc, fmt.Sprintf("%d:%d:close", inc.ID, inc.UpdatedAt.UnixNano()))
}

// scheduleDraft schedules the draft job of run, once per run.
func (s *Service) scheduleDraft(ctx context.Context, inc *incident.Incident, run string) error {
	payload, _ := json.Marshal(draftPayload{IncidentID: inc.ID, Run: run})
	if _, err := s.sched.Schedule(ctx, incident.Job{Kind: JobDraft, Key: "draft:" + run, Payload: payload, MaxAttempts: draftAttempts}); err != nil {
		return fmt.Errorf("schedule the postmortem draft of %s: %w", inc.Key(), err)
	}
	return nil
}

// Draft loads everything recorded about an incident, resolves the people's
// names, compiles the draft and renders it. It does not backfill.
func (s *Service) Draft(ctx context.Context, incidentID int64) (Draft, incident.PostmortemDoc, error) {
	inc, err := s.store.GetIncident(ctx, incidentID)
	if err != nil {
		return Draft{}, incident.PostmortemDoc{}, fmt.Errorf("postmortem draft: %w", err)
	}
	return s.compose(ctx, inc)
}

// compose is Draft for a loaded incident. edit, when given, changes the
// compiled draft before it is rendered.
func (s *Service) compose(ctx context.Context, inc *incident.Incident, edit ...func(*Draft)) (Draft, incident.PostmortemDoc, error) {
	in, err := s.load(ctx, inc)
	if err != nil {
		return Draft{}, incident.PostmortemDoc{}, err
	}
	in.UserNames = s.names(ctx, in)
	d := Compile(in)
	for _, fn := range edit {
		fn(&d)
	}
	doc, err := Document(d, s.renderer)
	if err != nil {
		return d, doc, fmt.Errorf("render the postmortem of %s: %w", inc.Key(), err)
	}
	return d, doc, nil
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

// draftIncident loads the incident a draft job works for. An incident that
// is gone, or has no channel to post in, cancels the job.
func (s *Service) draftIncident(ctx context.Context, id int64) (*incident.Incident, error) {
	inc, err := s.store.GetIncident(ctx, id)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return nil, fmt.Errorf("postmortem draft: %w: %w", err, incident.ErrJobCancel)
	} else if err != nil {
		return nil, fmt.Errorf("postmortem draft: %w", err)
	}
	if inc.ChannelID == "" {
		s.log.WarnContext(ctx, "no channel to post the postmortem draft in", "incident", inc.Key())
		return nil, fmt.Errorf("postmortem draft of %s: no channel: %w", inc.Key(), incident.ErrJobCancel)
	}
	return inc, nil
}

// runDraft is the JobDraft handler: it compiles a draft and pins it in a
// second job of the same kind, or posts the draft that job carries. One kind
// for both keeps a rolling deploy safe: an instance of an earlier release
// takes the posting job for a draft job, and posts the draft as it did.
func (s *Service) runDraft(ctx context.Context, payload []byte) error {
	var p draftPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode draft payload: %w: %w", err, incident.ErrJobCancel)
	}
	inc, err := s.draftIncident(ctx, p.IncidentID)
	if err != nil {
		return err
	}
	if p.Pinned != nil {
		return s.postDraft(ctx, inc, p.Run, *p.Pinned)
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
		// Recorded on the timeline, so the draft and every export compiled
		// from this record say whether the channel's history is in it,
		// until a later draft reads it.
		if backfillFailed {
			s.record(ctx, inc, historySource+p.Run+historyUnread, "Postmortem drafted without the channel's history, which could not be read")
		} else {
			s.record(ctx, inc, historySource+p.Run+historyRead, "Channel history read for the postmortem draft")
		}
	}
	d, doc, err := s.compose(ctx, inc)
	if err != nil {
		return err
	}
	parts := s.split(doc.Markdown)
	if len(parts) == 0 {
		parts = []string{""}
	}
	pin := &pinnedDraft{Version: draftVersion(parts), Summary: DraftNotice(d, len(parts), backfillFailed), Parts: parts}
	pinned, _ := json.Marshal(draftPayload{IncidentID: inc.ID, Run: p.Run, Pinned: pin})
	// The run's key keeps the version an earlier attempt pinned: this
	// attempt's, compiled from a record that may have changed since, is
	// dropped rather than posted over it.
	scheduled, err := s.sched.Schedule(ctx, incident.Job{Kind: JobDraft, Key: "post:" + p.Run, Payload: pinned, MaxAttempts: draftAttempts})
	if err != nil {
		return fmt.Errorf("schedule the posting of the postmortem draft of %s: %w", inc.Key(), err)
	}
	if !scheduled {
		s.log.DebugContext(ctx, "the postmortem draft was pinned by an earlier attempt", "incident", inc.Key(), "run", p.Run)
	}
	return nil
}

// The SourceIDs of the records of a draft's history read:
// historySource + run + historyRead or historyUnread. They are kept apart
// from the "postmortem:" records of the posts.
const (
	historySource = "history:"
	historyRead   = ":read"
	historyUnread = ":unread"
)

// draftVersion names a draft by its parts, as they are posted.
func draftVersion(parts []string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// postDraft posts the summary and the parts of a pinned draft that are not
// recorded as posted yet.
func (s *Service) postDraft(ctx context.Context, inc *incident.Incident, run string, p pinnedDraft) error {
	if p.Version == "" || len(p.Parts) == 0 {
		return fmt.Errorf("the postmortem draft of %s pins no parts: %w", inc.Key(), incident.ErrJobCancel)
	}
	timeline, err := s.store.ListTimeline(ctx, inc.ID)
	if err != nil {
		return fmt.Errorf("post the postmortem draft of %s: %w", inc.Key(), err)
	}
	runPrefix := "postmortem:" + run + ":"
	prefix := runPrefix + p.Version + ":"
	done, replaces := map[string]bool{}, false
	for _, ev := range timeline {
		switch {
		case strings.HasPrefix(ev.SourceID, prefix):
			done[ev.SourceID] = true
		case strings.HasPrefix(ev.SourceID, runPrefix):
			// Another version of this run was partly posted (one whose
			// posting failed for good): this one is posted whole, and
			// says it replaces it.
			replaces = true
		}
	}
	if src := prefix + "summary"; !done[src] {
		n := p.Summary
		if replaces {
			n.Values = maps.Clone(n.Values)
			n.Values["replaces"] = "true"
		}
		if err := s.postSummary(ctx, inc, n); err != nil {
			return fmt.Errorf("post the postmortem draft of %s: %w", inc.Key(), err)
		}
		s.record(ctx, inc, src, "Postmortem draft posted in the channel")
	}
	for i, part := range p.Parts {
		src := prefix + "part:" + strconv.Itoa(i+1)
		if done[src] {
			continue
		}
		n := incident.Notice{Kind: incident.NoticePostmortemPart, Incident: p.Summary.Incident, Actor: "bot",
			Values: map[string]string{"markdown": part, "part": strconv.Itoa(i + 1), "parts": strconv.Itoa(len(p.Parts))}}
		if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
			return fmt.Errorf("post part %d of the postmortem draft of %s: %w", i+1, inc.Key(), err)
		}
		s.record(ctx, inc, src, fmt.Sprintf("Postmortem draft part %d of %d posted", i+1, len(p.Parts)))
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
		metrics += fmt.Sprintf(" · customers told by e-mail at %s", d.stamp(m.CustomersEmailed))
	}

	var recorded, missing []string
	for _, ms := range d.Timeline {
		if ms.Recorded {
			recorded = append(recorded, d.stamp(ms.At)+" "+ms.Name)
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

// stamp is t as the notice's "Timeline (UTC)" shows it: the clock time,
// with the date when the draft's times fall on more than one day, as in
// the draft itself.
func (d Draft) stamp(t time.Time) string {
	if d.MultiDay {
		return t.UTC().Format("2006-01-02 15:04")
	}
	return t.UTC().Format("15:04")
}
