package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/firebreakhq/firebreak/httpjson"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/metrics"
)

// The API's JSON shapes. openapi.json describes exactly these; a test
// validates real responses against it.

type apiIncident struct {
	Number         int64             `json:"number"`
	Key            string            `json:"key"`
	Title          string            `json:"title"`
	Description    string            `json:"description"`
	Severity       string            `json:"severity"`
	Status         string            `json:"status"`
	Service        string            `json:"service"`
	Private        bool              `json:"private"`
	Drill          bool              `json:"drill"`
	DeclaredBy     string            `json:"declared_by"`
	Commander      string            `json:"commander"`
	Roles          map[string]string `json:"roles"`
	ChannelID      string            `json:"channel_id"`
	ChannelName    string            `json:"channel_name"`
	Summary        string            `json:"summary"`
	DeclaredAt     time.Time         `json:"declared_at"`
	AcknowledgedAt *time.Time        `json:"acknowledged_at"`
	MitigatedAt    *time.Time        `json:"mitigated_at"`
	ResolvedAt     *time.Time        `json:"resolved_at"`
	ClosedAt       *time.Time        `json:"closed_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	URL            string            `json:"url"`
}

// apiV1 is /api/v1: the incidents, their timelines and follow-ups, the
// metrics report, and declaring and updating incidents, for callers with a
// bearer token.
type apiV1 struct {
	*site
	reports *reports
}

func (s *apiV1) toAPI(inc *incident.Incident) apiIncident {
	roles := inc.Roles
	if roles == nil {
		roles = map[string]string{}
	}
	return apiIncident{Number: inc.Number, Key: inc.Key(), Title: inc.Title, Description: inc.Description,
		Severity: inc.Severity.String(), Status: string(inc.Status), Service: inc.Service, Private: inc.Private, Drill: inc.Drill,
		DeclaredBy: inc.DeclaredBy, Commander: inc.Commander, Roles: roles, ChannelID: inc.ChannelID, ChannelName: inc.ChannelName,
		Summary: inc.Summary, DeclaredAt: inc.DeclaredAt.UTC(), AcknowledgedAt: utcPtr(inc.AcknowledgedAt), MitigatedAt: utcPtr(inc.MitigatedAt),
		ResolvedAt: utcPtr(inc.ResolvedAt), ClosedAt: utcPtr(inc.ClosedAt), UpdatedAt: inc.UpdatedAt.UTC(),
		URL: s.cfg.PublicURL + "/incidents/" + strconv.FormatInt(inc.Number, 10)}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

type apiEvent struct {
	Kind  string    `json:"kind"`
	Actor string    `json:"actor"`
	At    time.Time `json:"at"`
	Text  string    `json:"text"`
	Key   bool      `json:"key"`
	// Data is the event's payload as stored: a flat object of strings.
	Data json.RawMessage `json:"data"`
}

type apiFollowUp struct {
	ID          int64     `json:"id"`
	Text        string    `json:"text"`
	Owner       string    `json:"owner"`
	DueOn       *string   `json:"due_on"`
	Done        bool      `json:"done"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	ExternalURL string    `json:"external_url"`
}

type apiStat struct {
	Count       int     `json:"count"`
	MeanSeconds float64 `json:"mean_seconds"`
	P50Seconds  float64 `json:"p50_seconds"`
	P90Seconds  float64 `json:"p90_seconds"`
	P95Seconds  float64 `json:"p95_seconds"`
	MaxSeconds  float64 `json:"max_seconds"`
}

type apiGroup struct {
	Key       string  `json:"key"`
	Incidents int     `json:"incidents"`
	MTTA      apiStat `json:"mtta"`
	MTTM      apiStat `json:"mttm"`
	MTTR      apiStat `json:"mttr"`
	MTBF      apiStat `json:"mtbf"`
}

type apiWeek struct {
	Start      string         `json:"start"`
	Total      int            `json:"total"`
	BySeverity map[string]int `json:"by_severity"`
}

type apiCompliance struct {
	Applicable int      `json:"applicable"`
	Met        int      `json:"met"`
	Share      *float64 `json:"share"`
}

type apiReport struct {
	From          time.Time     `json:"from"`
	To            time.Time     `json:"to"`
	Service       string        `json:"service"`
	IncludeDrills bool          `json:"include_drills"`
	Overall       apiGroup      `json:"overall"`
	BySeverity    []apiGroup    `json:"by_severity"`
	ByService     []apiGroup    `json:"by_service"`
	Weekly        []apiWeek     `json:"weekly"`
	Rollback      apiCompliance `json:"resolved_by_rollback"`
	Updates       apiCompliance `json:"update_cadence"`
	StatusPage    apiCompliance `json:"status_page_within_10m"`
	Nags          int           `json:"nags"`
	FollowUps     struct {
		All     int `json:"all"`
		Open    int `json:"open"`
		Overdue int `json:"overdue"`
	} `json:"follow_ups"`
	// MembershipUnknown says Slack could not say which channels the
	// token's person is in: the private incidents they are not named in
	// are left out of the numbers, whether or not they are in the channel.
	MembershipUnknown bool `json:"membership_unknown"`
}

func toAPIStat(st metrics.Stat) apiStat {
	return apiStat{Count: st.Count, MeanSeconds: st.Mean.Seconds(), P50Seconds: st.P50.Seconds(), P90Seconds: st.P90.Seconds(),
		P95Seconds: st.P95.Seconds(), MaxSeconds: st.Max.Seconds()}
}

func toAPIGroup(g metrics.Group) apiGroup {
	return apiGroup{Key: g.Key, Incidents: g.Incidents, MTTA: toAPIStat(g.MTTA), MTTM: toAPIStat(g.MTTM), MTTR: toAPIStat(g.MTTR), MTBF: toAPIStat(g.MTBF)}
}

func toAPICompliance(c metrics.Compliance) apiCompliance {
	out := apiCompliance{Applicable: c.Applicable, Met: c.Met}
	if share := c.Share(); share >= 0 {
		out.Share = &share
	}
	return out
}

// ToAPIReport is the report's JSON shape, shared by the API and tests.
func toAPIReport(r metrics.Report) apiReport {
	out := apiReport{From: r.From.UTC(), To: r.To.UTC(), Service: r.Service, IncludeDrills: r.IncludeDrills, Overall: toAPIGroup(r.Overall),
		BySeverity: []apiGroup{}, ByService: []apiGroup{}, Weekly: []apiWeek{},
		Rollback: toAPICompliance(r.Rollback), Updates: toAPICompliance(r.Updates), StatusPage: toAPICompliance(r.StatusPage), Nags: r.Nags}
	for _, g := range r.BySeverity {
		out.BySeverity = append(out.BySeverity, toAPIGroup(g))
	}
	for _, g := range r.ByService {
		out.ByService = append(out.ByService, toAPIGroup(g))
	}
	for _, w := range r.Weekly {
		by := map[string]int{}
		for sev := incident.P1; sev <= incident.P4; sev++ {
			by[sev.String()] = w.BySeverity[sev]
		}
		out.Weekly = append(out.Weekly, apiWeek{Start: w.Start.Format("2006-01-02"), Total: w.Total, BySeverity: by})
	}
	out.FollowUps.All, out.FollowUps.Open, out.FollowUps.Overdue = r.ActionItems, r.OpenItems, r.OverdueItems
	return out
}

type apiErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func apiError(w http.ResponseWriter, status int, code, message string) {
	var body apiErrorBody
	body.Error.Code, body.Error.Message = code, message
	httpjson.Write(w, status, body)
}

// apiFail is the API's one error mapper.
func (s *apiV1) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	err = s.outOfTime(r, err)
	status := httpStatus(err)
	if errors.Is(err, errBodyTooLarge) {
		status = http.StatusRequestEntityTooLarge
	}
	code := incident.ErrorCode(err)
	msg := incident.ErrorMessage(err)
	if status == http.StatusInternalServerError {
		s.cfg.Logger.ErrorContext(r.Context(), "API request failed", "path", r.URL.Path, "err", err)
		code, msg = incident.EINTERNAL, "Something went wrong on our side; it has been logged."
	}
	apiError(w, status, code, msg)
}

// apiListLimit and apiMaxListLimit are the API list's default and largest
// page.
const (
	apiListLimit    = 100
	apiMaxListLimit = 1000
)

// apiIncidentList is a page of GET /incidents: newest first, and the cursor
// of the next page, null on the last.
type apiIncidentList struct {
	Incidents  []apiIncident `json:"incidents"`
	NextCursor *string       `json:"next_cursor"`
	// MembershipUnknown says Slack could not say which channels the
	// token's person is in: the private incidents they are not named in
	// are left out of the page, whether or not they are in the channel.
	MembershipUnknown bool `json:"membership_unknown"`
}

func (s *apiV1) listIncidents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := r.URL.Query()
	_, f, err := s.parseListQuery(v)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	limit := apiListLimit
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > apiMaxListLimit {
			s.apiFail(w, r, incident.Errorf(incident.EINVALID, "limit must be a whole number between 1 and %d.", apiMaxListLimit))
			return
		}
		limit = n
	}
	page, err := s.readPage(ctx, viewerFrom(ctx).UserID, f, limit)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := apiIncidentList{Incidents: make([]apiIncident, 0, len(page.Incidents)), MembershipUnknown: page.Partial}
	for _, inc := range page.Incidents {
		out.Incidents = append(out.Incidents, s.toAPI(inc))
	}
	if page.Next != nil {
		next := s.cursors.encode(page.Next)
		out.NextCursor = &next
	}
	httpjson.Write(w, http.StatusOK, out)
}

func (s *apiV1) getIncident(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	inc, err := s.incidentFor(ctx, viewerFrom(ctx).UserID, chi.URLParam(r, "number"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, s.toAPI(inc))
}

func (s *apiV1) timeline(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	inc, err := s.incidentFor(ctx, viewerFrom(ctx).UserID, chi.URLParam(r, "number"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	events, err := s.cfg.Reader.ListTimeline(ctx, inc.ID)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := struct {
		Events []apiEvent `json:"events"`
	}{Events: []apiEvent{}}
	for _, ev := range events {
		data, err := incident.EncodeEventData(&ev)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		// A message deleted in the channel keeps its event, marked
		// deleted in its data, without its words.
		text, _, _ := shownText(ev)
		out.Events = append(out.Events, apiEvent{Kind: string(ev.Kind), Actor: ev.Actor, At: ev.At.UTC(), Text: text, Key: ev.Key, Data: json.RawMessage(data)})
	}
	httpjson.Write(w, http.StatusOK, out)
}

func (s *apiV1) followUps(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	inc, err := s.incidentFor(ctx, viewerFrom(ctx).UserID, chi.URLParam(r, "number"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	items, err := s.cfg.Reader.ListActionItems(ctx, inc.ID)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := struct {
		FollowUps []apiFollowUp `json:"follow_ups"`
	}{FollowUps: []apiFollowUp{}}
	for _, a := range items {
		f := apiFollowUp{ID: a.ID, Text: a.Text, Owner: a.Owner, Done: a.Done, CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt.UTC(), ExternalURL: a.ExternalURL}
		if a.DueOn != nil {
			d := a.DueOn.Format("2006-01-02")
			f.DueOn = &d
		}
		out.FollowUps = append(out.FollowUps, f)
	}
	httpjson.Write(w, http.StatusOK, out)
}

func (s *apiV1) metrics(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	_, q, err := s.reports.parseMetricsQuery(r.URL.Query())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	rep, partial, err := s.reports.report(ctx, viewerFrom(ctx).UserID, q)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := toAPIReport(rep)
	out.MembershipUnknown = partial
	httpjson.Write(w, http.StatusOK, out)
}

// maxBody bounds a request body; a declare or an update is a few
// kilobytes at most.
const maxBody = 64 << 10

// errBodyTooLarge is a request body past maxBody. It is refused whole (413):
// a body cut at the limit could still read as JSON and be taken for what
// the caller sent.
var errBodyTooLarge = incident.Errorf(incident.EINVALID, "The body is larger than 64 KiB; an incident's fields and an update are a few kilobytes at most.")

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		return incident.Errorf(incident.EINVALID, "Send the body as application/json.")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var big *http.MaxBytesError
		if errors.As(err, &big) {
			return errBodyTooLarge
		}
		return incident.Errorf(incident.EINVALID, "The body could not be read.")
	}
	if key, ok := httpjson.DuplicateField(body, v); ok {
		return incident.Errorf(incident.EINVALID, "The field %q is sent twice; send each field once.", key)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		var big *http.MaxBytesError
		switch {
		case errors.As(err, &big):
			return errBodyTooLarge
		case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return incident.Errorf(incident.EINVALID, "The body is not valid JSON.")
		case errors.As(err, &typ):
			return incident.Errorf(incident.EINVALID, "The field %q has the wrong type.", typ.Field)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return incident.Errorf(incident.EINVALID, "Unknown field %s.", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return incident.Errorf(incident.EINVALID, "The body could not be read.")
	}
	// One JSON value, nothing after it: a second object or stray text is
	// a client's mistake, not something to ignore.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return incident.Errorf(incident.EINVALID, "The body holds more than one JSON value.")
	}
	return nil
}

type declareRequest struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Severity    string `json:"severity"`
	Service     string `json:"service"`
	Private     bool   `json:"private"`
	Drill       bool   `json:"drill"`
	Commander   string `json:"commander"`
	// IdempotencyKey makes a retried declare return the first incident.
	IdempotencyKey string `json:"idempotency_key"`
}

// maxIdempotencyKey bounds a declare's idempotency key, in characters: the
// store keeps it in a unique index, and PostgreSQL refuses an index entry
// past about 2.7 kB.
const maxIdempotencyKey = 200

// idempotencyKey is the store's key for a caller's idempotency_key: per
// token, so two integrations never collide; "" for none. EINVALID for a key
// too long, or with characters no store keeps.
func idempotencyKey(v *viewer, raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	if n := utf8.RuneCountInString(raw); n > maxIdempotencyKey {
		return "", incident.Errorf(incident.EINVALID, "idempotency_key is %d characters long; keep it within %d.", n, maxIdempotencyKey)
	}
	if err := incident.CheckText(`field "idempotency_key"`, raw, false); err != nil {
		return "", err
	}
	return "api:" + strconv.FormatInt(v.Token.ID, 10) + ":" + raw, nil
}

func (s *apiV1) declare(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := viewerFrom(ctx)
	var req declareRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.apiFail(w, r, err)
		return
	}
	sev, ok := parseSeverity(req.Severity)
	if !ok {
		s.apiFail(w, r, incident.Errorf(incident.EINVALID, "Unknown severity %q: use P1, P2, P3 or P4.", req.Severity))
		return
	}
	if req.Commander != "" && !slackUserID(req.Commander) {
		s.apiFail(w, r, incident.Errorf(incident.EINVALID, "commander must be a Slack user id, such as U012ABCDEF."))
		return
	}
	if req.Commander != "" {
		if err := s.activePerson(ctx, req.Commander, v.UserID); err != nil {
			s.apiFail(w, r, err)
			return
		}
	}
	key, err := idempotencyKey(v, req.IdempotencyKey)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	inc, existed, err := s.cfg.Incidents.Declare(ctx, incident.DeclareInput{Title: req.Title, Description: req.Description, Severity: sev,
		ServiceKey: req.Service, Commander: req.Commander, DeclaredBy: v.UserID, Private: req.Private, Drill: req.Drill, Key: key,
		ReplyTo: incident.ReplyTarget{UserID: v.UserID}})
	if err != nil && inc == nil {
		s.apiFail(w, r, err)
		return
	}
	if err != nil {
		// Stored, but a follow-up step failed to schedule: the incident
		// exists and the caller must know it.
		s.cfg.Logger.ErrorContext(ctx, "declared through the API, but scheduling failed", "incident", inc.Key(), "err", err)
	}
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
		if err := s.sameDeclare(ctx, inc, req, sev); err != nil {
			s.apiFail(w, r, err)
			return
		}
	}
	w.Header().Set("Location", "/api/v1/incidents/"+strconv.FormatInt(inc.Number, 10))
	httpjson.Write(w, status, s.toAPI(inc))
}

// sameDeclare checks that a declare whose idempotency key was used before
// asks for the incident that key declared: the same title, description,
// severity, service, and private and drill marks, as the domain stored
// them. The key sent with another incident's fields is ECONFLICT, so that
// the caller is not handed the first incident as the one it asked for.
// The severity compared is the declared one, which a later change does not
// alter; the other fields never change after a declare.
func (s *apiV1) sameDeclare(ctx context.Context, inc *incident.Incident, req declareRequest, sev incident.Severity) error {
	conflict := incident.Errorf(incident.ECONFLICT, "That idempotency_key was used for a different incident; use a new key for a new incident.")
	if inc.Title != strings.Join(strings.Fields(req.Title), " ") || inc.Description != strings.TrimSpace(req.Description) ||
		inc.Service != req.Service || inc.Private != req.Private || inc.Drill != req.Drill {
		return conflict
	}
	declared := inc.Severity
	if declared != sev {
		events, err := s.cfg.Reader.ListTimeline(ctx, inc.ID)
		if err != nil {
			return err
		}
		for _, ev := range events {
			if d, ok := ev.Payload.(incident.SeverityChangedData); ok {
				declared = d.From
				break
			}
		}
	}
	if declared != sev {
		return conflict
	}
	return nil
}

type updateRequest struct {
	Status    *string `json:"status"`
	Severity  *string `json:"severity"`
	Summary   string  `json:"summary"`
	Commander *string `json:"commander"`
}

// update applies a PATCH whole or not at all: every field is checked for
// its validity here, so that a refusal names the field, and the core's Edit
// checks the lifecycle and the permission model for every change and makes
// them in one transaction: a refused part leaves the others unmade, even
// when someone else changes the incident meanwhile.
func (s *apiV1) update(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := viewerFrom(ctx)
	inc, err := s.incidentFor(ctx, v.UserID, chi.URLParam(r, "number"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var req updateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.apiFail(w, r, err)
		return
	}
	if err := req.validate(inc); err != nil {
		s.apiFail(w, r, err)
		return
	}
	if req.Commander != nil && *req.Commander != inc.Commander {
		if err := s.activePerson(ctx, *req.Commander, v.UserID); err != nil {
			s.apiFail(w, r, err)
			return
		}
	}
	if inc, err = s.cfg.Incidents.Edit(ctx, inc.ID, req.edit(), v.UserID); err != nil {
		s.apiFail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, s.toAPI(inc))
}

// activePerson refuses a commander who is not an active person of the
// caller's workspace (a typo, a bot, Slackbot, a deactivated account, a
// person of another organisation): the IC role
// handed to nobody would leave the incident without a lead, its reminders
// unanswered and its IC's changes refused until a takeover. In Slack a
// mention always names a person; through the API only this check does.
//
// A Slack that cannot say lets the request through, as the core takes
// someone the chat cannot say about for a member: a slow directory must not
// stop a declare during an outage, nor a retried declare from finding the
// incident it made.
func (s *apiV1) activePerson(ctx context.Context, userID, caller string) error {
	ok, err := s.names.colleague(ctx, userID, caller)
	if err != nil {
		s.cfg.Logger.WarnContext(ctx, "could not check the commander named through the API; taken as named", "user", userID, "err", err)
		return nil
	}
	if !ok {
		return incident.Errorf(incident.EINVALID, `The field "commander" must name an active person of this Slack workspace; %s is not one (a bot, a deactivated account, someone of another workspace, or no one). Nothing was changed.`, userID)
	}
	return nil
}

// maxSummary is the longest resolution summary the lifecycle takes.
const maxSummary = 3000

// validate refuses an update with nothing to change or a field that is not
// valid or cannot go with the others on inc, naming the field, before any
// change is made. The core checks the whole again when it makes it.
func (req updateRequest) validate(inc *incident.Incident) error {
	if req.Status == nil && req.Severity == nil && req.Commander == nil {
		return incident.Errorf(incident.EINVALID, "Send at least one of status, severity and commander.")
	}
	if req.Severity != nil {
		if _, ok := parseSeverity(*req.Severity); !ok {
			return incident.Errorf(incident.EINVALID, "Unknown severity %q: use P1, P2, P3 or P4.", *req.Severity)
		}
	}
	if req.Commander != nil && !slackUserID(*req.Commander) {
		return incident.Errorf(incident.EINVALID, "commander must be a Slack user id, such as U012ABCDEF.")
	}
	if req.Status != nil && !incident.Status(*req.Status).Valid() {
		return incident.Errorf(incident.EINVALID, "Unknown status %q.", *req.Status)
	}
	if utf8.RuneCountInString(req.Summary) > maxSummary {
		return incident.Errorf(incident.EINVALID, "The summary is too long; keep it within %d characters.", maxSummary)
	}
	if err := incident.CheckText(`field "summary"`, strings.TrimSpace(req.Summary), true); err != nil {
		return err
	}
	if strings.TrimSpace(req.Summary) != "" && (req.Status == nil || incident.Status(*req.Status) != incident.StatusResolved) {
		return incident.Errorf(incident.EINVALID, `The field "summary" is kept only when the incident is resolved: send it with "status":"resolved", or leave it out.`)
	}
	if req.Status != nil && incident.Status(*req.Status) == incident.StatusClosed && req.Commander != nil && *req.Commander != inc.Commander &&
		incident.CheckTransition(inc.Status, incident.StatusClosed) == nil {
		return incident.Errorf(incident.EINVALID, `The field "commander" cannot be applied with "status":"closed": a closed incident changes no more. Hand the incident over first, then close it.`)
	}
	return nil
}

// edit is the request as the core's Edit, which checks it whole and makes
// all of it or none.
func (req updateRequest) edit() incident.Edit {
	e := incident.Edit{Summary: req.Summary, Commander: req.Commander}
	if req.Severity != nil {
		sev, _ := parseSeverity(*req.Severity)
		e.Severity = &sev
	}
	if req.Status != nil {
		st := incident.Status(*req.Status)
		e.Status = &st
	}
	return e
}

// slackUserID reports whether id looks like a Slack user id (U… or W…),
// the only thing the API takes as a person.
func slackUserID(id string) bool {
	if len(id) < 2 || (id[0] != 'U' && id[0] != 'W') {
		return false
	}
	for _, c := range id[1:] {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// postUpdateRequest is a status update in the fixed format every update
// uses: what we know, what we are doing, and optionally the status it
// moves the incident to and when the next update comes.
type postUpdateRequest struct {
	Known  string `json:"known"`
	Doing  string `json:"doing"`
	Status string `json:"status"`
	// NextUpdateMinutes promises the next update; absent means the
	// severity's cadence.
	NextUpdateMinutes *int `json:"next_update_minutes"`
	// IdempotencyKey makes a retried update post once: the retry answers
	// 200 with the first one.
	IdempotencyKey string `json:"idempotency_key"`
}

// maxNextUpdateMinutes is the furthest a next update may be promised: the
// domain takes a day at most.
const maxNextUpdateMinutes = 24 * 60

// input checks the request field by field, so that a refusal names the
// field to fix, and returns it as the domain's update by author. The
// domain checks the update again as it does any other.
//
// The words are plain text, and are stored as Slack stores what a person
// types (ADR 0033, 0056): &, < and > as &amp;, &lt; and &gt;, so that the
// page, the postmortem and the status page, which read stored text as
// Slack's markup, show them as written, as Slack does, and never as a
// mention or a link. The limit counts them so written, as Slack does.
func (req postUpdateRequest) input(author string) (incident.UpdateInput, error) {
	known, doing := strings.TrimSpace(req.Known), strings.TrimSpace(req.Doing)
	for _, f := range []struct{ name, text string }{{"known", known}, {"doing", doing}} {
		if err := incident.CheckText(`field "`+f.name+`"`, f.text, true); err != nil {
			return incident.UpdateInput{}, err
		}
	}
	known, doing = incident.EscapeText(known), incident.EscapeText(doing)
	nk, nd := utf8.RuneCountInString(known), utf8.RuneCountInString(doing)
	note := ""
	if strings.ContainsAny(req.Known+req.Doing, "&<>") {
		note = " (& < > count as &amp; &lt; &gt;, as Slack writes them)"
	}
	switch {
	case known == "" && doing == "":
		return incident.UpdateInput{}, incident.Errorf(incident.EINVALID, `Send "known" (what we know) or "doing" (what we are doing), or both.`)
	case nk+nd > incident.MaxUpdateChars && nd == 0:
		return incident.UpdateInput{}, incident.Errorf(incident.EINVALID, `The field "known" is %d characters long%s; keep the update within %d.`, nk, note, incident.MaxUpdateChars)
	case nk+nd > incident.MaxUpdateChars && nk == 0:
		return incident.UpdateInput{}, incident.Errorf(incident.EINVALID, `The field "doing" is %d characters long%s; keep the update within %d.`, nd, note, incident.MaxUpdateChars)
	case nk+nd > incident.MaxUpdateChars:
		return incident.UpdateInput{}, incident.Errorf(incident.EINVALID, `The fields "known" and "doing" are %d characters long together%s; keep the update within %d.`, nk+nd, note, incident.MaxUpdateChars)
	}
	st := incident.Status(req.Status)
	if st != "" && st != incident.StatusInvestigating && st != incident.StatusMitigated {
		return incident.UpdateInput{}, incident.Errorf(incident.EINVALID, `The field "status" must be investigating or mitigated; resolve an incident with PATCH.`)
	}
	in := incident.UpdateInput{Author: author, Status: st, Known: known, Doing: doing}
	if m := req.NextUpdateMinutes; m != nil {
		if *m < 1 || *m > maxNextUpdateMinutes {
			return incident.UpdateInput{}, incident.Errorf(incident.EINVALID, `The field "next_update_minutes" must be a whole number of minutes from 1 to %d; leave it out for the severity's cadence.`, maxNextUpdateMinutes)
		}
		in.NextIn = time.Duration(*m) * time.Minute
	}
	return in, nil
}

// apiUpdate is a posted status update, and when the next one is due (null
// when the incident gets no reminders).
type apiUpdate struct {
	Author          string     `json:"author"`
	Status          string     `json:"status"`
	Known           string     `json:"known"`
	Doing           string     `json:"doing"`
	PostedAt        time.Time  `json:"posted_at"`
	NextUpdateDueAt *time.Time `json:"next_update_due_at"`
}

// postUpdate posts a status update through the domain, as /incident update
// does in Slack: the same checks and permissions, the same message in the
// incident's channel, and the update reminders start again.
func (s *apiV1) postUpdate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := viewerFrom(ctx)
	inc, err := s.incidentFor(ctx, v.UserID, chi.URLParam(r, "number"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var req postUpdateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.apiFail(w, r, err)
		return
	}
	in, err := req.input(v.UserID)
	if err == nil {
		in.Key, err = idempotencyKey(v, req.IdempotencyKey)
	}
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	posted, err := s.cfg.Incidents.PostUpdate(ctx, inc.ID, in)
	if errors.Is(err, incident.ErrUpdateRepeated) && posted != nil {
		s.repeatedUpdate(w, r, posted, in)
		return
	}
	if err != nil && posted == nil {
		s.apiFail(w, r, err)
		return
	}
	if err != nil {
		// The update, its message and the next reminder are stored; a
		// feature's hook after them failed. A retry would post it twice,
		// so the caller is told it was posted.
		s.cfg.Logger.ErrorContext(ctx, "status update posted through the API, but a later step failed", "incident", posted.Key(), "err", err)
	}
	out := s.postedUpdate(posted, in)
	// An update that restarted the reminders is their new starting time;
	// one that did not (its author leads nothing in the incident) leaves
	// that time as it was, and was posted now.
	out.Update.PostedAt = s.cfg.Clock.Now().UTC()
	if incident.UpdateReset(inc, posted) {
		out.Update.PostedAt = posted.LastUpdateAt.UTC()
	}
	httpjson.Write(w, http.StatusCreated, out)
}

// postedUpdateAnswer is the answer to a posted update.
type postedUpdateAnswer struct {
	Update   apiUpdate   `json:"update"`
	Incident apiIncident `json:"incident"`
}

// postedUpdate is the answer for the update in posted on inc, its time
// left for the caller to set: its words as the caller wrote them.
func (s *apiV1) postedUpdate(inc *incident.Incident, in incident.UpdateInput) postedUpdateAnswer {
	known, doing := incident.UnescapeText(in.Known), incident.UnescapeText(in.Doing)
	out := postedUpdateAnswer{Update: apiUpdate{Author: in.Author, Status: string(inc.Status), Known: known, Doing: doing},
		Incident: s.toAPI(inc)}
	if due, ok := incident.NextNagAt(inc, s.cfg.Policy); ok {
		due = due.UTC()
		out.Update.NextUpdateDueAt = &due
	}
	return out
}

// repeatedUpdate answers a retried update whose idempotency key was posted
// before: 200 with the update as first posted (its time read from its
// timeline event) and the incident as it stands; 409 when the key was used
// for another update: other words, another status asked for, or another
// promise of the next update. Nothing was posted again.
func (s *apiV1) repeatedUpdate(w http.ResponseWriter, r *http.Request, inc *incident.Incident, in incident.UpdateInput) {
	ctx := r.Context()
	events, err := s.cfg.Reader.ListTimeline(ctx, inc.ID)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := s.postedUpdate(inc, in)
	for _, ev := range events {
		if ev.SourceID != in.SourceID() {
			continue
		}
		same, err := s.sameUpdate(ctx, inc.ID, ev, in)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		if !same {
			s.apiFail(w, r, incident.Errorf(incident.ECONFLICT, "That idempotency_key was used for a different update; use a new key for a new update."))
			return
		}
		out.Update.Author, out.Update.PostedAt = ev.Actor, ev.At.UTC()
		if d, ok := ev.Payload.(incident.UpdatePostedData); ok && d.Status != "" {
			out.Update.Status = string(d.Status)
		}
		break
	}
	httpjson.Write(w, http.StatusOK, out)
}

// sameUpdate reports whether in asks for the update the timeline event ev
// of incident incidentID recorded under the same key: the same words; the status it asks for, if
// it asks for one, is the one the update left the incident in; and the
// same promise of the next update (none meaning the cadence) as the stored
// update made.
func (s *apiV1) sameUpdate(ctx context.Context, incidentID int64, ev incident.TimelineEvent, in incident.UpdateInput) (bool, error) {
	// The timeline line names the token that posted it (ViaNote), as
	// the retry's own line would.
	note := incident.ViaNote(ctx)
	if ev.Text != in.Body()+note {
		return false, nil
	}
	if d, ok := ev.Payload.(incident.UpdatePostedData); ok && in.Status != "" && d.Status != "" && d.Status != in.Status {
		return false, nil
	}
	updates, err := s.cfg.Reader.ListStatusUpdates(ctx, incidentID)
	if err != nil {
		return false, err
	}
	for _, u := range updates {
		if u.PostedAt.Equal(ev.At) && u.Text+note == ev.Text && u.Author == ev.Actor {
			return u.NextUpdateIn == in.NextIn, nil
		}
	}
	return true, nil
}
