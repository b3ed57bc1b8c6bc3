package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/firebreakhq/firebreak/incident"
)

// listLimit is how many incidents a page of the list shows; a link reads
// the older ones, a page at a time.
const listLimit = 200

// listQuery is the incident list's filters, as the form sends them.
type listQuery struct {
	Status        string
	Severity      string
	Service       string
	From, To      string
	IncludeDrills bool
	// Cursor is where the page starts (cursorSealer.encode); empty for the newest.
	Cursor string
}

// values is the query of the list with these filters, starting at cursor.
func (q listQuery) values(cursor string) url.Values {
	v := url.Values{}
	for _, kv := range [][2]string{{"status", q.Status}, {"severity", q.Severity}, {"service", q.Service}, {"from", q.From}, {"to", q.To}, {"cursor", cursor}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	if q.IncludeDrills {
		v.Set("drills", "include")
	}
	return v
}

// parseListQuery reads the filters and the cursor into a store filter. The
// dates are whole days in the policy's zone; To is inclusive.
func (s *site) parseListQuery(v url.Values) (listQuery, incident.IncidentFilter, error) {
	q := listQuery{Status: v.Get("status"), Severity: v.Get("severity"), Service: v.Get("service"),
		From: v.Get("from"), To: v.Get("to"), IncludeDrills: v.Get("drills") == "include", Cursor: v.Get("cursor")}
	f := incident.IncidentFilter{ExcludeDrills: !q.IncludeDrills, Service: q.Service}
	if q.Cursor != "" {
		after, err := s.cursors.parse(q.Cursor)
		if err != nil {
			return q, f, err
		}
		f.After = after
	}
	switch q.Status {
	case "":
	case "open":
		f.OpenOnly = true
	default:
		st := incident.Status(q.Status)
		if !st.Valid() {
			return q, f, incident.Errorf(incident.EINVALID, "Unknown status %q.", q.Status)
		}
		f.Statuses = []incident.Status{st}
	}
	if q.Severity != "" {
		sev, ok := parseSeverity(q.Severity)
		if !ok {
			return q, f, incident.Errorf(incident.EINVALID, "Unknown severity %q: use P1, P2, P3 or P4.", q.Severity)
		}
		f.Severity = sev
	}
	loc := s.cfg.Policy.Location
	if q.From != "" {
		t, err := time.ParseInLocation("2006-01-02", q.From, loc)
		if err != nil {
			return q, f, incident.Errorf(incident.EINVALID, "The start date %q is not a date like 2026-03-01.", q.From)
		}
		f.DeclaredFrom = t
	}
	if q.To != "" {
		t, err := time.ParseInLocation("2006-01-02", q.To, loc)
		if err != nil {
			return q, f, incident.Errorf(incident.EINVALID, "The end date %q is not a date like 2026-03-31.", q.To)
		}
		// The range ends before the next day; after 9999-12-31 there is
		// none a store can compare (SQLite compares times as text, where
		// year 10000 sorts first), and no incident is declared then.
		if end := t.AddDate(0, 0, 1); end.Year() <= 9999 {
			f.DeclaredBefore = end
		}
	}
	return q, f, nil
}

// parseSeverity reads a severity as /incident does in Slack
// (incident.ParseSeverity): P1 to P4 in any case, SEV1, or a bare 1, with
// spaces around.
func parseSeverity(text string) (incident.Severity, bool) {
	sev, err := incident.ParseSeverity(text)
	return sev, err == nil
}

// incidentPages is the incident list, an incident's page, and its
// postmortem and timeline downloads.
type incidentPages struct{ *site }

func (s *incidentPages) serveList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := viewerFrom(ctx)
	q, f, err := s.parseListQuery(r.URL.Query())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	page, err := s.readPage(ctx, v.UserID, f, listLimit)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	incs := page.Incidents
	older := ""
	if page.Next != nil {
		older = "/incidents?" + q.values(s.cursors.encode(page.Next)).Encode()
	}
	var ids []string
	for _, inc := range incs {
		ids = append(ids, inc.Commander)
	}
	s.render(w, r, http.StatusOK, "list", map[string]any{
		"Title": "Incidents", "Incidents": incs, "Query": q, "Older": older, "Newest": "/incidents?" + q.values("").Encode(),
		"Statuses":   []string{"open", "declared", "investigating", "mitigated", "resolved", "closed"},
		"Severities": []string{"P1", "P2", "P3", "P4"}, "Services": s.serviceKeys(),
		"Names": s.names.names(ctx, ids...), "MembershipUnknown": page.Partial,
	})
}

func (s *site) serviceKeys() []string { return s.cfg.Policy.ServiceKeys() }

// timelineRow is a timeline event as the incident page shows it. A
// message deleted in the channel is kept on the timeline for the record,
// but its words are left out, as the postmortem leaves them out: its Text
// is empty and Deleted says why.
type timelineRow struct {
	incident.TimelineEvent
	ActorName string
	Deleted   bool
	Edited    bool
}

// shownText is ev's words as the page, the CSV and the API give them, and
// whether it is a captured message deleted, or edited, in the channel: a
// deleted message keeps its event without its words, as the postmortem
// leaves them out.
func shownText(ev incident.TimelineEvent) (text string, deleted, edited bool) {
	if ev.Kind != incident.EventMessage {
		return ev.Text, false, false
	}
	d, _ := ev.Payload.(incident.MessageData)
	if d.Deleted {
		return "", true, d.Edited
	}
	return ev.Text, false, d.Edited
}

func (s *incidentPages) serveIncident(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := viewerFrom(ctx)
	inc, err := s.incidentFor(ctx, v.UserID, chi.URLParam(r, "number"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	d, err := s.incidentData(ctx, inc)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	// The draft is read while the people are named: it has its own
	// time, not what the names leave of the request's.
	draft := make(chan postmortemResult, 1)
	go func() {
		var r postmortemResult
		r.html, r.err = s.postmortemDraft(ctx, inc)
		draft <- r
	}()
	names := s.names.names(ctx, d.people(inc)...)
	rows := make([]timelineRow, 0, len(d.timeline))
	for _, ev := range d.timeline {
		text, deleted, edited := shownText(ev)
		ev.Text = plainSlack(text, names)
		rows = append(rows, timelineRow{TimelineEvent: ev, ActorName: names[ev.Actor], Deleted: deleted, Edited: edited})
	}
	for i := range d.updates {
		d.updates[i].Text = plainSlack(d.updates[i].Text, names)
	}
	roles := make([][2]string, 0, len(inc.Roles))
	for _, role := range s.cfg.Policy.Roles {
		if u := inc.Roles[role]; u != "" {
			roles = append(roles, [2]string{roleLabel(role), names[u]})
		}
	}
	pm := <-draft
	postmortem, postmortemErr := pm.html, pm.err
	today := s.cfg.Clock.Now()
	s.render(w, r, http.StatusOK, "incident", map[string]any{
		"Title": inc.Key() + " " + inc.Title, "Incident": inc, "Timeline": rows, "Updates": d.updates,
		"Items": d.items, "Pages": d.pages, "Rollbacks": d.rollbacks, "Changes": d.changes, "Exports": d.exports,
		"Names": names, "Roles": roles, "Postmortem": postmortem, "PostmortemError": postmortemErr,
		"Today": today, "Label": s.cfg.Policy.Severity(inc.Severity).Label, "ServiceName": s.serviceName(inc.Service),
	})
}

// serviceName is a service as the incident's panel in Slack names it: by
// the name the policy gives it, else by its key.
func (s *site) serviceName(key string) string {
	if svc, ok := s.cfg.Policy.Services[key]; ok && svc.Name != "" {
		return svc.Name
	}
	return key
}

// roleLabel is a policy role as the incident's panel in Slack labels it:
// "comms_lead" is "Comms lead".
func roleLabel(role string) string {
	label := strings.NewReplacer("_", " ", "-", " ").Replace(role)
	r, size := utf8.DecodeRuneInString(label)
	if r == utf8.RuneError {
		return label
	}
	return string(unicode.ToUpper(r)) + label[size:]
}

// incidentData is what an incident's page shows besides the incident.
type incidentData struct {
	timeline  []incident.TimelineEvent
	updates   []incident.StatusUpdate
	items     []incident.ActionItem
	pages     []incident.Page
	rollbacks []incident.Rollback
	changes   []incident.ChangeEvent
	exports   []incident.ExportRef
}

// incidentData reads the incident's timeline, updates, follow-ups, pages,
// rollbacks, the changes around it and its postmortem exports.
func (s *incidentPages) incidentData(ctx context.Context, inc *incident.Incident) (incidentData, error) {
	var d incidentData
	var err error
	rd := s.cfg.Reader
	if d.timeline, err = rd.ListTimeline(ctx, inc.ID); err != nil {
		return d, err
	}
	if d.updates, err = rd.ListStatusUpdates(ctx, inc.ID); err != nil {
		return d, err
	}
	if d.items, err = rd.ListActionItems(ctx, inc.ID); err != nil {
		return d, err
	}
	if d.pages, err = rd.ListPages(ctx, inc.ID); err != nil {
		return d, err
	}
	if d.rollbacks, err = rd.ListRollbacks(ctx, inc.ID); err != nil {
		return d, err
	}
	if d.changes, err = s.changesAround(ctx, inc); err != nil {
		return d, err
	}
	d.exports, err = s.exports(ctx, inc)
	return d, err
}

// changesAround lists the changes to the incident's service from the change
// window before it was declared until it was resolved (or now).
func (s *incidentPages) changesAround(ctx context.Context, inc *incident.Incident) ([]incident.ChangeEvent, error) {
	end := s.cfg.Clock.Now()
	if inc.ResolvedAt != nil {
		end = *inc.ResolvedAt
	}
	if inc.Service == "" {
		return nil, nil
	}
	window := s.cfg.Policy.ChangeWindow
	if window <= 0 {
		window = time.Hour
	}
	return s.cfg.Reader.ListChangeEvents(ctx, inc.Service, inc.DeclaredAt.Add(-window), end)
}

// exports lists where the incident's postmortem has been exported, of the
// configured targets.
func (s *incidentPages) exports(ctx context.Context, inc *incident.Incident) ([]incident.ExportRef, error) {
	var exports []incident.ExportRef
	for _, target := range s.cfg.ExportTargets {
		ref, err := s.cfg.Reader.GetExport(ctx, inc.ID, target)
		switch {
		case incident.ErrorCode(err) == incident.ENOTFOUND:
		case err != nil:
			return nil, err
		default:
			exports = append(exports, *ref)
		}
	}
	return exports, nil
}

// people lists everybody the page names: the declarer, the roles, the
// timeline's and updates' authors and whom they mention, and the follow-ups'
// owners.
func (d incidentData) people(inc *incident.Incident) []string {
	people := []string{inc.DeclaredBy, inc.Commander}
	for _, u := range inc.Roles {
		people = append(people, u)
	}
	for _, ev := range d.timeline {
		text, _, _ := shownText(ev) // a deleted message's mentions are not shown
		people = append(people, ev.Actor)
		people = append(people, mentionedUsers(text)...)
	}
	for _, u := range d.updates {
		people = append(people, u.Author)
		people = append(people, mentionedUsers(u.Text)...)
	}
	for _, a := range d.items {
		people = append(people, a.Owner)
	}
	return people
}

// postmortemResult is the incident page's postmortem draft, or why it is
// not shown.
type postmortemResult struct {
	html template.HTML
	err  string
}

// draftBudget is what the incident page gives the postmortem draft: within
// DefaultRequestTimeout, with time left to render the page when the draft
// is slow.
const draftBudget = 6 * time.Second

// postmortemDraft renders the incident's postmortem draft, or says why the
// page goes without it.
func (s *incidentPages) postmortemDraft(ctx context.Context, inc *incident.Incident) (template.HTML, string) {
	if s.cfg.Postmortem == nil {
		return "", ""
	}
	ctx, cancel := context.WithTimeout(ctx, draftBudget)
	defer cancel()
	md, err := s.cfg.Postmortem(ctx, inc.ID)
	if err != nil {
		s.cfg.Logger.WarnContext(ctx, "postmortem draft unavailable", "incident", inc.Key(), "err", err)
		return "", incident.ErrorMessage(err)
	}
	postmortem, err := renderMarkdown(md)
	if err != nil {
		return "", "The draft could not be rendered."
	}
	return postmortem, ""
}

// markdown renders postmortem drafts. Raw HTML in the Markdown is dropped
// and dangerous link schemes are neutralised (goldmark's defaults), since
// the draft quotes what people typed.
var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

func renderMarkdown(md string) (template.HTML, error) {
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(md), &buf); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil //nolint:gosec // goldmark escapes text and omits raw HTML
}

func (s *incidentPages) servePostmortemMarkdown(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	inc, err := s.incidentFor(ctx, viewerFrom(ctx).UserID, chi.URLParam(r, "number"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if s.cfg.Postmortem == nil {
		s.pageError(w, r, incident.Errorf(incident.ENOTFOUND, "Postmortems are not set up."))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, draftBudget)
	defer cancel()
	md, err := s.cfg.Postmortem(ctx, inc.ID)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-postmortem.md"`, strings.ToLower(inc.Key())))
	_, _ = w.Write([]byte(md))
}

func (s *incidentPages) serveTimelineCSV(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	inc, err := s.incidentFor(ctx, viewerFrom(ctx).UserID, chi.URLParam(r, "number"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	events, err := s.cfg.Reader.ListTimeline(ctx, inc.ID)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	// The words as the page shows them: mentions by name, links by their
	// label, no Slack escapes; actor_name (last, so that columns read by
	// position keep their place) names the actor.
	people := make([]string, 0, 2*len(events))
	for _, ev := range events {
		text, _, _ := shownText(ev)
		people = append(append(people, ev.Actor), mentionedUsers(text)...)
	}
	names := s.names.names(ctx, people...)
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write([]string{"at", "kind", "actor", "key", "text", "deleted", "actor_name"})
	for _, ev := range events {
		// Another app's message has the app's own name as its actor. A
		// message deleted in the channel keeps its row, marked deleted,
		// without its words.
		text, deleted, _ := shownText(ev)
		_ = cw.Write([]string{ev.At.UTC().Format(time.RFC3339), string(ev.Kind), csvSafe(ev.Actor), strconv.FormatBool(ev.Key),
			csvSafe(plainSlack(text, names)), strconv.FormatBool(deleted), csvSafe(names[ev.Actor])})
	}
	cw.Flush()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-timeline.csv"`, strings.ToLower(inc.Key())))
	_, _ = w.Write(buf.Bytes())
}

// csvSafe stops a cell from being read as a formula by a spreadsheet
// (CSV injection): text people typed may start with = + - or @.
func csvSafe(text string) string {
	if text != "" && strings.ContainsRune("=+-@\t\r", rune(text[0])) {
		return "'" + text
	}
	return text
}
