package postmortem

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

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

type exportPayload struct {
	IncidentID int64                `json:"incident_id"`
	Target     string               `json:"target"`
	Actor      string               `json:"actor"`
	Reply      incident.ReplyTarget `json:"reply"`
	// Request is the job's key: one per export asked for, the same in each
	// of its attempts.
	Request string `json:"request,omitempty"`
	// Announce, when set, makes the job say where the postmortem went,
	// as the export that scheduled it worded it.
	Announce *announcement `json:"announce,omitempty"`
}

// announcement is what an export says once it is recorded, pinned in the
// job that says it: every attempt posts the same words, so one whose
// earlier attempt's post may have landed (a 500, a record that failed)
// finds it in the channel rather than posting it again; worded anew, a
// retry would say "updated" where the first said "exported".
type announcement struct {
	// Source is the SourceID of its line on the timeline.
	Source string          `json:"source"`
	Notice incident.Notice `json:"notice"`
	// Bookmark is the link to bookmark in the channel, "" for none;
	// Title is the bookmark's title.
	Bookmark string `json:"bookmark,omitempty"`
	Title    string `json:"title,omitempty"`
	// Line is the timeline's line.
	Line string `json:"line"`
}

// ErrExportUnderWay is wrapped in Export's ECONFLICT error when nothing was
// scheduled because an export of the same postmortem to the same target,
// asked for a moment ago, has not started yet: that export publishes the
// draft as it is when it starts, and says where.
var ErrExportUnderWay = errors.New("an export of the postmortem to the target is already under way")

// exportClick is how long a requested export that has not started holds
// off another request of it (a double click, the command and a button, two
// replicas). Its job ends the hold when it starts, so from then on a
// request, for a draft that may have changed since, is an export of its own;
// and again whenever it ends, started or not (done, refused, out of
// attempts), in case the first release failed. The hold is short because
// nothing else ends it: a job cancelled before it ran, or a release that
// failed twice, holds requests off this long, and the refused request is
// told to ask again if no link comes.
const exportClick = 20 * time.Second

// Export schedules the export of an incident's current draft to a target
// ("confluence", "github"). A re-export updates the document exported
// before. Each request exports, unless an export of the same postmortem to
// the same target was asked for and has not started yet: that one will
// publish the draft as it is then, and the request is ECONFLICT wrapping
// ErrExportUnderWay, saying so. EINVALID for an unknown target (the message
// lists the configured ones); ENOTFOUND for an unknown incident;
// EFORBIDDEN (a *incident.Refusal) unless the permission model lets actor
// export (incident.ActExport).
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
	if err := s.mayExport(ctx, inc, actor); err != nil {
		return err
	}
	// Each request is its own job, claimed until it starts (see
	// exportClick): a request meanwhile is the claimed one's, on any
	// replica. The job engine keeps a finished job's key, so the key
	// names this request alone, not a minute or a draft.
	key := fmt.Sprintf("export:%d:%s:%d:%s", inc.ID, target, s.clock.Now().UnixMilli(), rand.Text()[:8])
	claimed, err := s.store.AcquireLease(ctx, requestLease(inc.ID, target), key, exportClick)
	if err != nil {
		return fmt.Errorf("export postmortem of %s: %w", inc.Key(), err)
	}
	if !claimed {
		return exportUnderWay(inc, target)
	}
	payload, _ := json.Marshal(exportPayload{IncidentID: inc.ID, Target: target, Actor: actor, Reply: reply, Request: key})
	scheduled, err := s.sched.Schedule(ctx, incident.Job{Kind: JobExport, Key: key, Payload: payload, MaxAttempts: exportAttempts})
	if err != nil || !scheduled {
		// Nothing new will start to end the claim.
		s.releaseRequest(ctx, inc.ID, target, key)
	}
	if err != nil {
		return fmt.Errorf("schedule the postmortem export of %s: %w", inc.Key(), err)
	}
	if !scheduled {
		return exportUnderWay(inc, target)
	}
	return nil
}

// requestLease names the claim of a requested export that has not started.
func requestLease(id int64, target string) string {
	return fmt.Sprintf("export-request:%d:%s", id, target)
}

// releaseRequest ends the claim of the requested export key, if it still
// holds it; a claim not ended ends by itself after exportClick.
func (s *Service) releaseRequest(ctx context.Context, id int64, target, key string) {
	if key == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.store.ReleaseLease(ctx, requestLease(id, target), key); err != nil {
		s.log.WarnContext(ctx, "could not end the claim of a requested export; it ends by itself", "incident", id, "target", target, "err", err)
	}
}

// exportUnderWay is Export's answer to a request that an export asked for
// before and not started yet stands for.
func exportUnderWay(inc *incident.Incident, target string) error {
	where := "its link will be posted here"
	if inc.ChannelID == "" {
		where = "its link will be sent to whoever asked for it"
	}
	return fmt.Errorf("%w: %w", incident.Errorf(incident.ECONFLICT, "An export of %s's postmortem to %s is already under way; %s. If no link comes within a minute, ask again.", inc.Key(), target, where), ErrExportUnderWay)
}

// reviewReader is the part of a store that knows the postmortem review,
// whose owner may export.
type reviewReader interface {
	GetReview(ctx context.Context, incidentID int64) (*incident.Review, error)
}

// mayExport asks the permission model whether actor may export inc's
// postmortem, with the review's owner when the review is scheduled.
func (s *Service) mayExport(ctx context.Context, inc *incident.Incident, actor string) error {
	req := incident.Request{Subject: incident.Subject{User: actor}, Action: incident.ActExport, Incident: inc}
	if rr, ok := s.store.(reviewReader); ok {
		r, err := rr.GetReview(ctx, inc.ID)
		switch {
		case err == nil:
			req.Target = r.Owner
		case incident.ErrorCode(err) != incident.ENOTFOUND:
			return fmt.Errorf("export postmortem: read the review's owner: %w", err)
		}
	}
	if s.core == nil {
		// Without the chat to ask, the incident's named people are its
		// members, and the policy's groups are nobody's.
		req.Subject.Member = actor == inc.Commander || actor == inc.DeclaredBy || actor == req.Target
		for _, holder := range inc.Roles {
			req.Subject.Member = req.Subject.Member || actor == holder
		}
		return s.policy.Decide(req).Err()
	}
	d, err := s.core.Authorize(ctx, req)
	if err != nil {
		return fmt.Errorf("export postmortem: %w", err)
	}
	return d.Err()
}

// exportDoc composes the document that leaves Slack. A private incident's
// title is replaced by "Private incident INC-42" everywhere in it unless the
// policy's private_incidents.exports is full, and so is the channel's name,
// which is made of the title. The owners of its action items are named,
// with their GitHub logins where the policy maps them.
func (s *Service) exportDoc(ctx context.Context, inc *incident.Incident) (incident.PostmortemDoc, error) {
	doc, err := s.disclosedDoc(ctx, inc)
	if err != nil {
		return doc, err
	}
	for _, a := range doc.ActionItems {
		if login := s.policy.GitHubLogins[a.Owner]; a.Owner != "" && login != "" {
			if doc.GitHubLogins == nil {
				doc.GitHubLogins = map[string]string{}
			}
			doc.GitHubLogins[a.Owner] = login
		}
	}
	return doc, nil
}

// disclosedDoc is the document with the title as the policy discloses it.
func (s *Service) disclosedDoc(ctx context.Context, inc *incident.Incident) (incident.PostmortemDoc, error) {
	shown := incident.DisclosedTitle(inc, s.policy.PrivateExports)
	if shown == inc.Title {
		_, doc, err := s.compose(ctx, inc)
		return doc, err
	}
	redacted := *inc
	redacted.Title = shown
	channel := s.redactedChannel(inc, shown)
	// The timeline quotes the title too (the declaration, as the chat
	// worded it). It is replaced in the compiled draft, where every text is
	// still plain, so no escaping the documents apply (XML entities,
	// Markdown table escapes) can let a form of it through.
	_, doc, err := s.compose(ctx, &redacted, func(d *Draft) { redactDraft(d, inc.Title, shown, channel) })
	if err != nil {
		return doc, err
	}
	doc.Title = shown
	return doc, nil
}

// redactedChannel returns the replacements of the incident channel's name,
// which the war room made of the title ("inc-2026-03-14-acme-orion" for
// "Acme Orion"), so that a message linking the channel
// (<#C123|inc-2026-03-14-acme-orion>) does not quote the title: the old
// name, then the name the channel would have had with the shown title: the
// part after the date is replaced (with the "-2" of a name that was taken);
// a name of another shape, made under an earlier prefix, has the words of
// the title replaced where they end it. Nil when there is nothing to
// replace.
func (s *Service) redactedChannel(inc *incident.Incident, shown string) []string {
	name := inc.ChannelName
	if name == "" {
		return nil
	}
	prefix := s.policy.ChannelPrefix
	if inc.Drill {
		prefix += "-drill"
	}
	numbered := fmt.Sprintf("inc-%d", inc.Number)
	head := strings.TrimSuffix(incident.ChannelName(prefix, inc.DeclaredAt, s.policy.Location, "", inc.Number, 1), numbered)
	if strings.HasPrefix(name, head) && len(name) > len(head) {
		return []string{name, head + incident.Slug(shown)}
	}
	// The channel name holds the title's slug, cut on a word boundary.
	for slug := incident.Slug(inc.Title); slug != ""; {
		if i := strings.LastIndex(name, "-"+slug); i >= 0 {
			return []string{name, name[:i+1] + incident.Slug(shown) + name[i+1+len(slug):]}
		}
		cut := strings.LastIndexByte(slug, '-')
		if cut < 0 {
			break
		}
		slug = slug[:cut]
	}
	return nil
}

// redactDraft replaces title by shown in every text of d: the title as
// typed, as the chat escapes it (&amp; &lt; &gt;) and as the draft turns
// Slack markup into plain text; channel holds pairs of further texts and
// their replacements (the channel's name).
func redactDraft(d *Draft, title, shown string, channel []string) {
	if strings.TrimSpace(title) == "" {
		return
	}
	escaped := incident.EscapeText(title)
	forms := []string{title, escaped, plainText(title, func(id string) string { return id }), plainText(escaped, func(id string) string { return id })}
	type pair struct{ old, new string }
	var pairs []pair
	for _, f := range forms {
		if strings.TrimSpace(f) != "" {
			pairs = append(pairs, pair{f, shown})
		}
	}
	for i := 0; i+1 < len(channel); i += 2 {
		if channel[i] != "" {
			pairs = append(pairs, pair{channel[i], channel[i+1]})
		}
	}
	// Longest first, so a form is never half replaced by a shorter one.
	slices.SortStableFunc(pairs, func(a, b pair) int { return len(b.old) - len(a.old) })
	var args []string
	seen := map[string]bool{}
	for _, p := range pairs {
		if !seen[p.old] {
			seen[p.old] = true
			args = append(args, p.old, p.new)
		}
	}
	replaceStrings(reflect.ValueOf(d).Elem(), strings.NewReplacer(args...))
}

var stringType = reflect.TypeFor[string]()

// replaceStrings applies r to every string reachable from v through
// exported fields, slices, maps and pointers. Named string types (kinds,
// severities) are codes, not text, and are left alone.
func replaceStrings(v reflect.Value, r *strings.Replacer) {
	switch v.Kind() {
	case reflect.String:
		if v.Type() == stringType && v.CanSet() {
			v.SetString(r.Replace(v.String()))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			replaceStrings(v.Elem(), r)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				replaceStrings(v.Field(i), r)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			replaceStrings(v.Index(i), r)
		}
	case reflect.Map:
		if v.Type().Elem() == stringType {
			for _, k := range v.MapKeys() {
				v.SetMapIndex(k, reflect.ValueOf(r.Replace(v.MapIndex(k).String())))
			}
		}
	}
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

// The lease of an incident's exports to one target (ADR 0038). An export
// holds it from its look at where the postmortem was exported before,
// through the exporter's look for what an earlier attempt made and its
// writes, to the record of where it went: two exports of one postmortem to
// one target (jobs scheduled in different minutes, a retry overlapping a
// slow first attempt, two replicas) never run at once, so the second finds
// the document the first made (by the record, or by the marker it left in
// the document) instead of making another.
const (
	// exportLease is how long an export may hold the lease: an export
	// killed mid-way keeps the others waiting this long at most.
	exportLease = 5 * time.Minute
	// exportWork bounds the work done under the lease; the rest of
	// exportLease covers a write GitHub or Confluence still carries out
	// after the call was given up, and replicas' clocks disagreeing.
	exportWork = exportLease - 90*time.Second
	// exportBusyWait is how long an export waits while another holds
	// the lease.
	exportBusyWait = 5 * time.Second
)

// holdExport takes the lease of the incident's exports to target and
// returns its release. While another export holds it, the error asks the
// job engine to run this one again a little later.
//
// An export job holds the lease as the job: the job's next run, after a
// run killed mid-export or stopped cut off from the database, takes it
// back at once and looks for what that run made, while other exports wait.
// A stopped run leaves its lease to that rerun: a release sent as the run
// stops could reach the database late, after the rerun took the lease
// back, and end the rerun's.
func (s *Service) holdExport(ctx context.Context, id int64, target string) (release func(), err error) {
	key, holder := fmt.Sprintf("export:%d:%s", id, target), rand.Text()
	job := incident.JobID(ctx)
	if job != 0 {
		holder = fmt.Sprintf("job:%d", job)
	}
	ok, err := s.store.AcquireLease(ctx, key, holder, exportLease)
	if err != nil {
		return nil, fmt.Errorf("postmortem export: %w", err)
	}
	if !ok {
		return nil, incident.RetryLater(exportBusyWait, "another export of the postmortem of incident %d to %s is under way", id, target)
	}
	return func() {
		if job != 0 && ctx.Err() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.store.ReleaseLease(ctx, key, holder); err != nil {
			s.log.WarnContext(ctx, "could not release the export lease; it ends by itself", "incident", id, "target", target, "err", err)
		}
	}, nil
}

// runExport is the JobExport handler. It reads where the postmortem was
// exported before only once it holds the export lease, so it sees what an
// export that held it before recorded.
func (s *Service) runExport(ctx context.Context, payload []byte) (err error) {
	var p exportPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode export payload: %w: %w", err, incident.ErrJobCancel)
	}
	if p.Announce != nil {
		return s.announce(ctx, p)
	}
	defer func() {
		if jobEnds(ctx, err) {
			// Started or not, this request's export is over: a request
			// from now on must schedule its own, even if the release
			// at the start failed or never came.
			s.releaseRequest(ctx, p.IncidentID, p.Target, p.Request)
		}
	}()
	release, err := s.holdExport(ctx, p.IncidentID, p.Target)
	if err != nil {
		return err
	}
	defer release()
	// The draft is composed from here on: a request made now is for a
	// draft this export may not hold, and is an export of its own.
	s.releaseRequest(ctx, p.IncidentID, p.Target, p.Request)
	ctx, cancel := context.WithTimeout(ctx, exportWork)
	defer cancel()
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
	ref, exportErr := s.exportTo(ctx, exp, inc, p.Target, doc, prev)
	if exportErr != nil && ref.ID == "" {
		return s.exportFailed(ctx, inc, p, exp, exportErr)
	}
	// With an error, the document was published but a further step (the
	// action items' issues) failed: record and announce the document,
	// then report the failure.
	if ref.Target == "" {
		ref.Target = p.Target
	}
	if err := s.store.SaveExport(ctx, inc.ID, ref); err != nil {
		// The retry finds the document (by title, by branch) and updates it.
		return fmt.Errorf("record the postmortem export of %s: %w", inc.Key(), err)
	}
	if err := s.announceExport(ctx, inc, p, exp, prev, ref); err != nil {
		return err
	}
	if exportErr != nil {
		return s.exportFailed(ctx, inc, p, exp, exportErr)
	}
	return nil
}

// jobEnds reports whether a handler's result err ends its job: success, a
// cancellation, or a failure on what may be its last attempt (a
// postponement on the last attempt counts, as the engine may discard the job
// once it has postponed it often enough).
func jobEnds(ctx context.Context, err error) bool {
	if err == nil || errors.Is(err, incident.ErrJobCancel) {
		return true
	}
	attempt, max := incident.JobAttempt(ctx)
	return max > 0 && attempt >= max
}

// exportTo publishes doc through exp. An exporter that has its writes
// recorded before it makes them (incident.RecordingExporter) records them
// in the export's record, where the job's next attempt, in this process or
// another, reads them: a write that took effect but whose answer was lost
// is then the export's own, not an edit people made.
func (s *Service) exportTo(ctx context.Context, exp incident.Exporter, inc *incident.Incident, target string, doc incident.PostmortemDoc, prev *incident.ExportRef) (incident.ExportRef, error) {
	rec, ok := exp.(incident.RecordingExporter)
	if !ok {
		return exp.Export(ctx, doc, prev)
	}
	return rec.ExportRecorded(ctx, doc, prev, func(ctx context.Context, pending incident.ExportRef) error {
		if pending.Target == "" {
			pending.Target = target
		}
		if err := s.store.SaveExport(ctx, inc.ID, pending); err != nil {
			return fmt.Errorf("record the postmortem export of %s before writing it: %w", inc.Key(), err)
		}
		return nil
	})
}

// announceExport schedules the job that says where the postmortem went:
// in the channel, with a bookmark the first time, or to whoever asked when
// there is no channel; and records it on the timeline. The job is keyed by
// the export asked for: a retry of one that published the document but
// failed a further step (an action item's issue) publishes it again, and
// schedules nothing new, so the words its first attempt pinned are said,
// once.
func (s *Service) announceExport(ctx context.Context, inc *incident.Incident, p exportPayload, exp incident.Exporter, prev *incident.ExportRef, ref incident.ExportRef) error {
	source := fmt.Sprintf("postmortem:export:%s:%s:%d", p.Target, ref.ID, ref.Version)
	if p.Request != "" {
		source = "postmortem:export:" + p.Target + ":" + p.Request
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
	a := &announcement{Source: source, Notice: done, Line: fmt.Sprintf("Postmortem %s in %s: %s", verb, exp.Name(), ref.URL)}
	if ref.URL != "" && (prev == nil || prev.URL != ref.URL) {
		a.Bookmark, a.Title = ref.URL, "Postmortem ("+exp.Name()+")"
	}
	payload, _ := json.Marshal(exportPayload{IncidentID: inc.ID, Target: p.Target, Actor: p.Actor, Reply: p.Reply, Request: p.Request, Announce: a})
	if _, err := s.sched.Schedule(ctx, incident.Job{Kind: JobExport, Key: "announce:" + source, Payload: payload, MaxAttempts: exportAttempts}); err != nil {
		return fmt.Errorf("schedule the postmortem link of %s: %w", inc.Key(), err)
	}
	return nil
}

// announce is the JobExport handler of an announcement: it says the
// pinned words, bookmarks the link and records the line. A failure is
// retried; the retry finds the post that may have landed.
func (s *Service) announce(ctx context.Context, p exportPayload) error {
	a := p.Announce
	inc, err := s.store.GetIncident(ctx, p.IncidentID)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return fmt.Errorf("postmortem link: %w: %w", err, incident.ErrJobCancel)
	} else if err != nil {
		return fmt.Errorf("postmortem link: %w", err)
	}
	if attempt, _ := incident.JobAttempt(ctx); attempt > 1 && s.recorded(ctx, inc.ID, a.Source) {
		return nil
	}
	if inc.ChannelID == "" {
		if err := s.chat.Tell(ctx, p.Reply, a.Notice); err != nil {
			return fmt.Errorf("tell the exporter where the postmortem of %s is: %w", inc.Key(), err)
		}
	} else {
		if _, err := s.chat.Notify(ctx, inc.ChannelID, a.Notice); err != nil {
			return fmt.Errorf("post the postmortem link of %s: %w", inc.Key(), err)
		}
		if a.Bookmark != "" {
			if err := s.chat.AddBookmark(ctx, inc.ChannelID, a.Title, a.Bookmark); err != nil {
				s.log.WarnContext(ctx, "could not bookmark the postmortem", "incident", inc.Key(), "err", err)
			}
		}
	}
	if err := s.store.AddTimelineEvent(ctx, &incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventPostmortem, Actor: "bot",
		At: s.clock.Now(), Text: a.Line, SourceID: a.Source}); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
		return fmt.Errorf("record the postmortem link of %s: %w", inc.Key(), err)
	}
	return nil
}

// recorded reports whether the incident's timeline holds the line of
// source; when the timeline cannot be read it reports false, so the line
// is said rather than lost.
func (s *Service) recorded(ctx context.Context, id int64, source string) bool {
	events, err := s.store.ListTimeline(ctx, id)
	if err != nil {
		s.log.WarnContext(ctx, "could not read the timeline", "incident", id, "err", err)
		return false
	}
	for _, ev := range events {
		if ev.SourceID == source {
			return true
		}
	}
	return false
}

// exportFailed says in the channel why an export failed: at once with a
// Retry button when retrying cannot help (bad credentials, a missing space,
// a rejected page, or an error the exporter marked with ErrJobCancel, such
// as a page people edited since the last export), else on the first failure
// (retrying) and after the last attempt (with Retry). A rate limit is left
// to the job engine, which waits as long as the exporter asked, except on
// the last attempt: the engine would then drop the job, so the channel is
// told with its Retry button and the job ends there.
func (s *Service) exportFailed(ctx context.Context, inc *incident.Incident, p exportPayload, exp incident.Exporter, cause error) error {
	attempt, max := incident.JobAttempt(ctx)
	last := max > 0 && attempt >= max
	var limited interface{ RetryAfter() time.Duration }
	rateLimited := errors.As(cause, &limited) && limited.RetryAfter() > 0
	if rateLimited && !last {
		return fmt.Errorf("export the postmortem of %s to %s: %w", inc.Key(), exp.Name(), cause)
	}
	code := incident.ErrorCode(cause)
	// A rate limit on the last attempt ends the job as a refusal does: the
	// channel has its Retry button, and a postponement the engine might
	// still grant would only run the export after the failure was said.
	refused := code == incident.EINVALID || code == incident.EFORBIDDEN || code == incident.ENOTFOUND ||
		errors.Is(cause, incident.ErrJobCancel) || rateLimited
	final := refused || last
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
			// Not said: the job is retried, not cancelled, so that it is
			// (the keyed post finds a copy that landed), and recorded
			// once said. The cause is kept as text: a refusal's
			// ErrJobCancel would cancel the retry.
			return fmt.Errorf("export the postmortem of %s to %s failed (%s), and saying so failed: %w",
				inc.Key(), exp.Name(), incident.ErrorMessage(cause), err)
		}
		s.record(ctx, inc, fmt.Sprintf("postmortem:exportfail:%s:%d:%d", p.Target, s.clock.Now().Unix(), attempt),
			fmt.Sprintf("Postmortem export to %s failed: %s", exp.Name(), incident.ErrorMessage(cause)))
	}
	err := fmt.Errorf("export the postmortem of %s to %s: %w", inc.Key(), exp.Name(), cause)
	if rateLimited {
		// Kept as text: its Retry-After would have the job postponed
		// after the channel was told it failed.
		err = fmt.Errorf("export the postmortem of %s to %s: %s", inc.Key(), exp.Name(), cause.Error())
	}
	if refused {
		return fmt.Errorf("%w: %w", err, incident.ErrJobCancel)
	}
	return err
}
