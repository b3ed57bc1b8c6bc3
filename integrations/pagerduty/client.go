package pagerduty

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/PagerDuty/go-pagerduty"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// Default endpoints, used for empty Config fields.
const (
	DefaultAPIURL    = "https://api.pagerduty.com"
	DefaultEventsURL = "https://events.pagerduty.com"
)

// Source is the Events API v2 payload.source of our trigger events.
const Source = "firebreak"

// maxSummary is the Events API v2 limit on payload.summary, in characters.
const maxSummary = 1024

// Config configures a Client. Only HTTPClient is required for an Events API
// v2 setup; a REST setup also needs Token and FromEmail.
type Config struct {
	// APIURL is the REST API base URL; empty means DefaultAPIURL.
	APIURL string
	// EventsURL is the Events API base URL (without /v2/enqueue); empty
	// means DefaultEventsURL.
	EventsURL string
	// Token is a REST API token. Empty limits the client to Events API v2.
	Token string
	// FromEmail is the e-mail of the PagerDuty user the bot acts as when a
	// request names nobody (resolving, paging without a declarer).
	FromEmail string
	// HTTPClient sends every request; pass one from outbound.Client so the
	// shared retry and breaker policy applies. Nil means a plain client,
	// which is only sensible in tests.
	HTTPClient *http.Client
	// Logger receives one line per page and per degraded backup page. It
	// never receives the token or routing keys. Nil discards.
	Logger *slog.Logger
	// Clock dates pages and reads HTTP-date Retry-After values; nil means
	// incident.SystemClock.
	Clock incident.Clock
	// Services looks up our service by key. It is needed to acknowledge or
	// resolve a page sent with an Events API v2 routing key, since a Page
	// records the service key and not the key itself (routing keys are
	// secrets and stay out of the database). Nil means such pages cannot be
	// acknowledged or resolved from here.
	Services func(key string) (incident.ServicePolicy, bool)
}

// Client pages through PagerDuty. It is safe for concurrent use.
type Client struct {
	pd       *pagerduty.Client
	hasToken bool
	from     string
	log      *slog.Logger
	clock    incident.Clock
	services func(string) (incident.ServicePolicy, bool)
}

var _ incident.Pager = (*Client)(nil)

// New returns a Client for cfg.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	c := &Client{
		hasToken: cfg.Token != "",
		from:     cfg.FromEmail,
		log:      cfg.Logger,
		clock:    cfg.Clock,
		services: cfg.Services,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = incident.SystemClock
	}
	c.pd = pagerduty.NewClient(cfg.Token,
		pagerduty.WithAPIEndpoint(strings.TrimRight(cmp.Or(cfg.APIURL, DefaultAPIURL), "/")),
		pagerduty.WithV2EventsAPIEndpoint(strings.TrimRight(cmp.Or(cfg.EventsURL, DefaultEventsURL), "/")))
	c.pd.HTTPClient = recordingDoer{hc: hc}
	return c
}

// Enabled reports whether svc can be paged: with the REST API (a token and
// the service's ServiceID) or with Events API v2 (a RoutingKey).
func (c *Client) Enabled(svc incident.ServicePolicy) bool {
	return c.useREST(svc) || svc.PagerDuty.RoutingKey != ""
}

func (c *Client) useREST(svc incident.ServicePolicy) bool {
	return c.hasToken && svc.PagerDuty.ServiceID != ""
}

// call runs one SDK call with an exchange recorder and a metrics operation
// name, and translates its error. idempotent marks a POST that PagerDuty
// deduplicates, so the outbound client may retry it after a 5xx.
func (c *Client) call(ctx context.Context, op string, idempotent bool, fn func(ctx context.Context) error) error {
	x := &exchange{}
	ctx = context.WithValue(ctx, exchangeKey{}, x)
	ctx = outbound.WithOperation(ctx, op)
	if idempotent {
		ctx = outbound.WithIdempotent(ctx)
	}
	return c.translate(op, x, fn(ctx))
}

// Page opens a page for req. With a REST API token and the service's
// ServiceID it creates an incident attributed to req.FromEmail (or
// Config.FromEmail); otherwise it sends an Events API v2 trigger with the
// service's RoutingKey. The same DedupKey returns the same page.
// EINVALID when the service has neither, or no From e-mail is known;
// EUNAVAILABLE when PagerDuty does not answer; an error with RetryAfter when
// it rate limits us.
func (c *Client) Page(ctx context.Context, req incident.PageRequest) (*incident.Page, error) {
	switch {
	case c.useREST(req.Service):
		return c.pageREST(ctx, req)
	case req.Service.PagerDuty.RoutingKey != "":
		return c.pageEvents(ctx, req)
	case req.Service.PagerDuty.ServiceID != "":
		return nil, incident.Errorf(incident.EINVALID,
			"Service %q has a PagerDuty service_id but the bot has no PagerDuty REST API token; set the token, or give the service a routing_key.",
			serviceName(req.Service))
	}
	return nil, incident.Errorf(incident.EINVALID,
		"Service %q is not linked to PagerDuty; add a pagerduty service_id (with a REST API token) or a routing_key to it in the policy file.",
		serviceName(req.Service))
}

func (c *Client) pageREST(ctx context.Context, req incident.PageRequest) (*incident.Page, error) {
	from := cmp.Or(req.FromEmail, c.from)
	if from == "" {
		return nil, incident.Errorf(incident.EINVALID,
			"PagerDuty needs the e-mail of a PagerDuty user to page as; set the bot's PagerDuty From e-mail.")
	}
	svc := req.Service.PagerDuty
	opts := &pagerduty.CreateIncidentOptions{
		Title:       pageTitle(req),
		Service:     &pagerduty.APIReference{ID: svc.ServiceID, Type: "service_reference"},
		Urgency:     req.Urgency,
		IncidentKey: req.DedupKey,
		Body:        &pagerduty.APIDetails{Type: "incident_body", Details: pageDetails(req)},
	}
	if svc.EscalationPolicy != "" {
		// The policy file names the escalation policy OnCall reports, so
		// the page goes to the same people rather than the service default.
		opts.EscalationPolicy = &pagerduty.APIReference{ID: svc.EscalationPolicy, Type: "escalation_policy_reference"}
	}
	var inc *pagerduty.Incident
	// PagerDuty refuses a second open incident with the same incident_key,
	// so with a key the create may be retried after a 5xx.
	err := c.call(ctx, "incidents.create", req.DedupKey != "", func(ctx context.Context) error {
		var err error
		inc, err = c.pd.CreateIncidentWithContext(ctx, from, opts)
		return err
	})
	if ae := asAPIError(err); ae != nil && ae.duplicate() {
		inc, err = c.findOpen(ctx, svc.ServiceID, req.DedupKey)
	}
	if err != nil {
		return nil, fmt.Errorf("page %s: %w", serviceName(req.Service), err)
	}
	if req.Backup {
		if inc, err = c.addBackup(ctx, from, req.Service, inc); err != nil {
			return nil, fmt.Errorf("page %s backup: %w", serviceName(req.Service), err)
		}
	}
	page := c.restPage(req, inc)
	c.log.InfoContext(ctx, "pagerduty incident open",
		slog.String("incident", req.IncidentKey), slog.String("service", req.Service.Key),
		slog.String("pagerduty_incident", inc.ID), slog.Int("assignees", len(page.Assignees)))
	return page, nil
}

// findOpen returns the open incident with incidentKey on the service, the
// one that made PagerDuty refuse a create as a duplicate.
func (c *Client) findOpen(ctx context.Context, serviceID, incidentKey string) (*pagerduty.Incident, error) {
	var list *pagerduty.ListIncidentsResponse
	err := c.call(ctx, "incidents.list", false, func(ctx context.Context) error {
		var err error
		list, err = c.pd.ListIncidentsWithContext(ctx, pagerduty.ListIncidentsOptions{
			IncidentKey: incidentKey,
			ServiceIDs:  []string{serviceID},
			Statuses:    []string{"triggered", "acknowledged"},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range list.Incidents {
		if list.Incidents[i].IncidentKey == incidentKey {
			return &list.Incidents[i], nil
		}
	}
	// It was resolved between PagerDuty's refusal and our look-up; the
	// next attempt will open a new one.
	return nil, incident.Errorf(incident.ECONFLICT,
		"PagerDuty reported an open incident for this page but no longer lists it; try again.")
}

// addBackup pages the escalation policy's level 2 at once, besides level 1.
//
// PagerDuty offers no "notify two levels" flag. The incident creation API
// accepts a single assignee (and assigning the From user acknowledges at
// once), and escalating to level 2 would unassign level 1. Reassigning the
// open incident to the people on call at levels 1 and 2 together is the
// documented way that notifies every newly assigned user at once and keeps
// level 1 on the incident; the escalation policy stays attached, so the
// incident still escalates if nobody acknowledges. Retried, it does nothing
// when everyone is already assigned.
func (c *Client) addBackup(ctx context.Context, from string, svc incident.ServicePolicy, inc *pagerduty.Incident) (*pagerduty.Incident, error) {
	policy := cmp.Or(svc.PagerDuty.EscalationPolicy, inc.EscalationPolicy.ID)
	oncalls, err := c.listOnCalls(ctx, svc, policy)
	if err != nil {
		return nil, err
	}
	assigned := map[string]bool{}
	for _, a := range inc.Assignments {
		assigned[a.Assignee.ID] = true
	}
	var want []pagerduty.Assignee
	names := map[string]string{}
	missing, level2 := false, false
	for _, oc := range oncalls {
		if oc.EscalationLevel > 2 || oc.User.ID == "" || names[oc.User.ID] != "" {
			continue
		}
		names[oc.User.ID] = userName(oc.User)
		level2 = level2 || oc.EscalationLevel == 2
		missing = missing || !assigned[oc.User.ID]
		want = append(want, pagerduty.Assignee{Assignee: pagerduty.APIObject{ID: oc.User.ID, Type: "user_reference"}})
	}
	if !level2 {
		c.log.WarnContext(ctx, "pagerduty backup page skipped: nobody on call at level 2",
			slog.String("service", svc.Key), slog.String("escalation_policy", policy))
		return inc, nil
	}
	if !missing {
		return inc, nil
	}
	var res *pagerduty.ListIncidentsResponse
	err = c.call(ctx, "incidents.manage", false, func(ctx context.Context) error {
		var err error
		res, err = c.pd.ManageIncidentsWithContext(ctx, from, []pagerduty.ManageIncidentsOptions{{
			ID: inc.ID, Assignments: want,
		}})
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range res.Incidents {
		if res.Incidents[i].ID == inc.ID {
			return &res.Incidents[i], nil
		}
	}
	// PagerDuty accepted the reassignment without echoing the incident;
	// report who we assigned.
	updated := *inc
	updated.Assignments = nil
	for _, a := range want {
		updated.Assignments = append(updated.Assignments, pagerduty.Assignment{
			Assignee: pagerduty.APIObject{ID: a.Assignee.ID, Summary: names[a.Assignee.ID]},
		})
	}
	return &updated, nil
}

func (c *Client) restPage(req incident.PageRequest, inc *pagerduty.Incident) *incident.Page {
	created, err := time.Parse(time.RFC3339, inc.CreatedAt)
	if err != nil {
		created = c.clock.Now()
	}
	page := &incident.Page{
		IncidentID: req.IncidentID,
		Provider:   providerID,
		ExternalID: inc.ID,
		DedupKey:   req.DedupKey,
		Service:    req.Service.Key,
		URL:        inc.HTMLURL,
		Status:     cmp.Or(inc.Status, "triggered"),
		CreatedAt:  created.UTC(),
	}
	for _, a := range inc.Assignments {
		if name := cmp.Or(a.Assignee.Summary, a.Assignee.ID); name != "" && !slices.Contains(page.Assignees, name) {
			page.Assignees = append(page.Assignees, name)
		}
	}
	return page
}

func (c *Client) pageEvents(ctx context.Context, req incident.PageRequest) (*incident.Page, error) {
	if req.Backup {
		// An Events API v2 integration key can only trigger the service's
		// escalation policy from level 1; reaching level 2 at once needs the
		// REST API.
		c.log.WarnContext(ctx, "pagerduty backup page not possible with a routing key; paging level 1 only",
			slog.String("incident", req.IncidentKey), slog.String("service", req.Service.Key))
	}
	details := map[string]any{
		"incident": req.IncidentKey,
		"service":  serviceName(req.Service),
		"severity": req.Severity.String(),
	}
	if req.Runbook != "" {
		details["runbook"] = req.Runbook
	}
	if req.Link != "" {
		details["link"] = req.Link
	}
	if req.Details != "" {
		details["details"] = req.Details
	}
	ev := &pagerduty.V2Event{
		RoutingKey: req.Service.PagerDuty.RoutingKey,
		Action:     "trigger",
		DedupKey:   req.DedupKey,
		Client:     "firebreak",
		ClientURL:  req.Link,
		Payload: &pagerduty.V2Payload{
			Summary:   truncate(pageTitle(req), maxSummary),
			Source:    Source,
			Severity:  eventSeverity(req.Severity),
			Timestamp: c.clock.Now().UTC().Format(time.RFC3339),
			Component: req.Service.Key,
			Class:     "incident",
			Details:   details,
		},
	}
	if req.Runbook != "" {
		ev.Links = append(ev.Links, map[string]string{"href": req.Runbook, "text": "Runbook"})
	}
	if req.Link != "" {
		ev.Links = append(ev.Links, map[string]string{"href": req.Link, "text": "Incident channel"})
	}
	var resp *pagerduty.V2EventResponse
	// PagerDuty merges triggers with the same dedup_key, so a retry is safe.
	err := c.call(ctx, "events.trigger", req.DedupKey != "", func(ctx context.Context) error {
		var err error
		resp, err = c.pd.ManageEventWithContext(ctx, ev)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("page %s: %w", serviceName(req.Service), err)
	}
	key := cmp.Or(resp.DedupKey, req.DedupKey)
	c.log.InfoContext(ctx, "pagerduty event triggered",
		slog.String("incident", req.IncidentKey), slog.String("service", req.Service.Key))
	return &incident.Page{
		IncidentID: req.IncidentID,
		Provider:   providerID,
		ExternalID: key,
		DedupKey:   key,
		Service:    req.Service.Key,
		Status:     "triggered",
		CreatedAt:  c.clock.Now().UTC(),
	}, nil
}

// isEventsPage reports whether page was sent with Events API v2, whose
// ExternalID is its dedup key; a REST incident id never equals our key.
func isEventsPage(page incident.Page) bool {
	return page.ExternalID == "" || page.ExternalID == page.DedupKey
}

// Acknowledge acknowledges page as the PagerDuty user with email. ENOTFOUND
// when no PagerDuty user has the e-mail; EINVALID when the page was sent
// with a routing key the client cannot look up.
func (c *Client) Acknowledge(ctx context.Context, page incident.Page, email string) error {
	if isEventsPage(page) {
		return c.followUp(ctx, page, "acknowledge")
	}
	if err := c.needToken(); err != nil {
		return err
	}
	email = strings.TrimSpace(email)
	if email == "" {
		return incident.Errorf(incident.EINVALID, "We need your e-mail address to acknowledge in PagerDuty as you.")
	}
	user, err := c.userByEmail(ctx, email)
	if err != nil {
		return fmt.Errorf("acknowledge %s: %w", page.ExternalID, err)
	}
	if err := c.manage(ctx, user.Email, page.ExternalID, "acknowledged"); err != nil {
		return fmt.Errorf("acknowledge %s: %w", page.ExternalID, err)
	}
	return nil
}

// Resolve resolves page, as Config.FromEmail for a REST incident.
func (c *Client) Resolve(ctx context.Context, page incident.Page) error {
	if isEventsPage(page) {
		return c.followUp(ctx, page, "resolve")
	}
	if err := c.needToken(); err != nil {
		return err
	}
	if c.from == "" {
		return incident.Errorf(incident.EINVALID,
			"PagerDuty needs the e-mail of a PagerDuty user to resolve as; set the bot's PagerDuty From e-mail.")
	}
	if err := c.manage(ctx, c.from, page.ExternalID, "resolved"); err != nil {
		return fmt.Errorf("resolve %s: %w", page.ExternalID, err)
	}
	return nil
}

func (c *Client) needToken() error {
	if !c.hasToken {
		return incident.Errorf(incident.EINVALID,
			"This page is a PagerDuty incident and the bot has no PagerDuty REST API token; set the token.")
	}
	return nil
}

func (c *Client) manage(ctx context.Context, from, id, status string) error {
	return c.call(ctx, "incidents.manage", false, func(ctx context.Context) error {
		_, err := c.pd.ManageIncidentsWithContext(ctx, from, []pagerduty.ManageIncidentsOptions{{ID: id, Status: status}})
		return err
	})
}

// userByEmail finds the PagerDuty user with email. PagerDuty's query
// matches names and e-mails by substring, so the result is filtered for an
// exact e-mail.
func (c *Client) userByEmail(ctx context.Context, email string) (*pagerduty.User, error) {
	var list *pagerduty.ListUsersResponse
	err := c.call(ctx, "users.list", false, func(ctx context.Context) error {
		var err error
		list, err = c.pd.ListUsersWithContext(ctx, pagerduty.ListUsersOptions{Query: email, Limit: 100})
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range list.Users {
		if strings.EqualFold(list.Users[i].Email, email) {
			return &list.Users[i], nil
		}
	}
	return nil, incident.Errorf(incident.ENOTFOUND, "No PagerDuty user has the e-mail %s.", email)
}

// followUp sends an Events API v2 acknowledge or resolve for page.
func (c *Client) followUp(ctx context.Context, page incident.Page, action string) error {
	key := cmp.Or(page.DedupKey, page.ExternalID)
	var svc incident.ServicePolicy
	ok := c.services != nil
	if ok {
		svc, ok = c.services(page.Service)
	}
	if !ok || svc.PagerDuty.RoutingKey == "" {
		return incident.Errorf(incident.EINVALID,
			"Cannot %s the PagerDuty page of service %q: it was sent with a routing_key that is no longer configured.", action, page.Service)
	}
	if key == "" {
		return incident.Errorf(incident.EINVALID, "Cannot %s the PagerDuty page: it has no dedup key.", action)
	}
	ev := &pagerduty.V2Event{RoutingKey: svc.PagerDuty.RoutingKey, Action: action, DedupKey: key}
	// Acknowledge and resolve are idempotent on the dedup key.
	err := c.call(ctx, "events."+action, true, func(ctx context.Context) error {
		_, err := c.pd.ManageEventWithContext(ctx, ev)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", action, page.Service, err)
	}
	return nil
}

// OnCall lists who is on call now for svc's escalation policy (the
// service's own when the policy file names none), first level first.
// EINVALID when svc is not linked to PagerDuty through the REST API.
func (c *Client) OnCall(ctx context.Context, svc incident.ServicePolicy) ([]incident.OnCall, error) {
	if !c.hasToken || (svc.PagerDuty.ServiceID == "" && svc.PagerDuty.EscalationPolicy == "") {
		return nil, incident.Errorf(incident.EINVALID,
			"Listing who is on call for %q needs a PagerDuty REST API token and the service's pagerduty service_id or escalation_policy.",
			serviceName(svc))
	}
	oncalls, err := c.listOnCalls(ctx, svc, svc.PagerDuty.EscalationPolicy)
	if err != nil {
		return nil, fmt.Errorf("on call for %s: %w", serviceName(svc), err)
	}
	out := make([]incident.OnCall, 0, len(oncalls))
	seen := map[string]bool{}
	for _, oc := range oncalls {
		id := fmt.Sprintf("%d/%s", oc.EscalationLevel, oc.User.ID)
		if seen[id] {
			continue
		}
		seen[id] = true
		o := incident.OnCall{
			Level:    int(oc.EscalationLevel),
			Name:     userName(oc.User),
			Email:    oc.User.Email,
			Schedule: cmp.Or(oc.Schedule.Summary, oc.Schedule.Name),
		}
		if end, err := time.Parse(time.RFC3339, oc.End); err == nil {
			o.Until = end.UTC()
		}
		out = append(out, o)
	}
	slices.SortStableFunc(out, func(a, b incident.OnCall) int {
		return cmp.Or(cmp.Compare(a.Level, b.Level), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}

// listOnCalls lists the current on-calls of policy, looked up from the
// service when empty, sorted by level.
func (c *Client) listOnCalls(ctx context.Context, svc incident.ServicePolicy, policy string) ([]pagerduty.OnCall, error) {
	if policy == "" {
		var s *pagerduty.Service
		err := c.call(ctx, "services.get", false, func(ctx context.Context) error {
			var err error
			s, err = c.pd.GetServiceWithContext(ctx, svc.PagerDuty.ServiceID, &pagerduty.GetServiceOptions{})
			return err
		})
		if err != nil {
			return nil, err
		}
		policy = s.EscalationPolicy.ID
		if policy == "" {
			return nil, incident.Errorf(incident.EINVALID, "PagerDuty service %s has no escalation policy.", svc.PagerDuty.ServiceID)
		}
	}
	var list *pagerduty.ListOnCallsResponse
	err := c.call(ctx, "oncalls.list", false, func(ctx context.Context) error {
		var err error
		list, err = c.pd.ListOnCallsWithContext(ctx, pagerduty.ListOnCallOptions{
			EscalationPolicyIDs: []string{policy},
			// Users come as references without an e-mail unless included.
			Includes: []string{"users"},
			Limit:    100,
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	oncalls := list.OnCalls
	slices.SortStableFunc(oncalls, func(a, b pagerduty.OnCall) int { return cmp.Compare(a.EscalationLevel, b.EscalationLevel) })
	return oncalls, nil
}

func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return nil
}

func pageTitle(req incident.PageRequest) string {
	if req.IncidentKey == "" {
		return req.Title
	}
	return fmt.Sprintf("[%s] %s", req.IncidentKey, req.Title)
}

// pageDetails is the body of a REST page: what to do and where to talk
// first, then what the declarer wrote.
func pageDetails(req incident.PageRequest) string {
	var lines []string
	if req.Runbook != "" {
		lines = append(lines, "Runbook: "+req.Runbook)
	}
	if req.Link != "" {
		lines = append(lines, "Incident channel: "+req.Link)
	}
	if req.Details != "" {
		if len(lines) > 0 {
			lines = append(lines, "")
		}
		lines = append(lines, req.Details)
	}
	return strings.Join(lines, "\n")
}

// eventSeverity maps our severity to Events API v2's: P1 critical, P2
// error, lower warning.
func eventSeverity(s incident.Severity) string {
	switch s {
	case incident.P1:
		return "critical"
	case incident.P2:
		return "error"
	}
	return "warning"
}

func serviceName(svc incident.ServicePolicy) string {
	return cmp.Or(svc.Name, svc.Key)
}

func userName(u pagerduty.User) string {
	return cmp.Or(u.Name, u.Summary, u.Email, u.ID)
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// Escalate moves a page to the next level of its escalation policy now,
// as "Escalate" in PagerDuty does: the people on call at that level are
// notified and assigned. It returns the page with its new assignees.
// EINVALID for a page sent with a routing key (Events API v2 cannot
// escalate) or without a REST token or From e-mail; ENOTFOUND when nobody
// is on call at the next level.
func (c *Client) Escalate(ctx context.Context, page incident.Page) (*incident.Page, error) {
	if err := c.canEscalate(page); err != nil {
		return nil, err
	}
	inc, err := c.getIncident(ctx, page.ExternalID)
	if err != nil {
		return nil, fmt.Errorf("escalate %s: %w", page.ExternalID, err)
	}
	oncalls, err := c.listOnCalls(ctx, c.servicePolicy(page.Service), inc.EscalationPolicy.ID)
	if err != nil {
		return nil, fmt.Errorf("escalate %s: %w", page.ExternalID, err)
	}
	next := escalationLevel(inc, oncalls) + 1
	if !slices.ContainsFunc(oncalls, func(oc pagerduty.OnCall) bool { return oc.EscalationLevel == next }) {
		return nil, incident.Errorf(incident.ENOTFOUND, "Nobody is on call at level %d of the escalation policy.", next)
	}
	if inc, err = c.escalateTo(ctx, inc, next); err != nil {
		return nil, fmt.Errorf("escalate %s: %w", page.ExternalID, err)
	}
	out := page
	out.Status = cmp.Or(inc.Status, "triggered")
	out.Assignees = nil
	for _, a := range inc.Assignments {
		if name := cmp.Or(a.Assignee.Summary, a.Assignee.ID); name != "" && !slices.Contains(out.Assignees, name) {
			out.Assignees = append(out.Assignees, name)
		}
	}
	c.log.InfoContext(ctx, "pagerduty incident escalated", slog.String("pagerduty_incident", inc.ID), slog.Int("level", int(next)))
	return &out, nil
}

// canEscalate says why the page cannot be escalated through the REST API,
// or nil.
func (c *Client) canEscalate(page incident.Page) error {
	if isEventsPage(page) {
		return incident.Errorf(incident.EINVALID, "A page sent with a routing key cannot be escalated through PagerDuty's Events API.")
	}
	if err := c.needToken(); err != nil {
		return err
	}
	if c.from == "" {
		return incident.Errorf(incident.EINVALID,
			"PagerDuty needs the e-mail of a PagerDuty user to escalate as; set the bot's PagerDuty From e-mail.")
	}
	return nil
}

// servicePolicy is the policy of the service with key, or one with only
// the key when the policy does not know it.
func (c *Client) servicePolicy(key string) incident.ServicePolicy {
	if c.services != nil {
		if s, ok := c.services(key); ok {
			return s
		}
	}
	return incident.ServicePolicy{Key: key}
}

// escalationLevel is the level the incident is at: the highest level among
// its assignees on call, and 1 when none is.
func escalationLevel(inc *pagerduty.Incident, oncalls []pagerduty.OnCall) uint {
	level := uint(1)
	assigned := map[string]bool{}
	for _, a := range inc.Assignments {
		assigned[a.Assignee.ID] = true
	}
	for _, oc := range oncalls {
		if assigned[oc.User.ID] && oc.EscalationLevel > level {
			level = oc.EscalationLevel
		}
	}
	return level
}

// escalateTo moves the incident to the escalation level and returns it as
// PagerDuty answered (inc when the answer does not include it).
func (c *Client) escalateTo(ctx context.Context, inc *pagerduty.Incident, level uint) (*pagerduty.Incident, error) {
	var res *pagerduty.ListIncidentsResponse
	err := c.call(ctx, "incidents.manage", false, func(ctx context.Context) error {
		var err error
		res, err = c.pd.ManageIncidentsWithContext(ctx, c.from, []pagerduty.ManageIncidentsOptions{{ID: inc.ID, EscalationLevel: level}})
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range res.Incidents {
		if res.Incidents[i].ID == inc.ID {
			inc = &res.Incidents[i]
		}
	}
	return inc, nil
}

// Responders returns the e-mail addresses of the people a page is
// assigned to now: the incident's assignees for a REST page, the first
// level on call for a page sent with a routing key. EINVALID without a
// REST token.
func (c *Client) Responders(ctx context.Context, page incident.Page) ([]string, error) {
	if err := c.needToken(); err != nil {
		return nil, err
	}
	svc := c.servicePolicy(page.Service)
	var (
		policy   string
		assigned map[string]bool
	)
	if !isEventsPage(page) {
		inc, err := c.getIncident(ctx, page.ExternalID)
		if err != nil {
			return nil, fmt.Errorf("responders of %s: %w", page.ExternalID, err)
		}
		policy = inc.EscalationPolicy.ID
		assigned = map[string]bool{}
		for _, a := range inc.Assignments {
			assigned[a.Assignee.ID] = true
		}
	} else if svc.PagerDuty.ServiceID == "" && svc.PagerDuty.EscalationPolicy == "" {
		return nil, incident.Errorf(incident.EINVALID,
			"Finding who a routing-key page reached needs the service's pagerduty service_id or escalation_policy.")
	}
	oncalls, err := c.listOnCalls(ctx, svc, cmp.Or(policy, svc.PagerDuty.EscalationPolicy))
	if err != nil {
		return nil, fmt.Errorf("responders of %s: %w", page.Service, err)
	}
	var emails []string
	for _, oc := range oncalls {
		paged := oc.EscalationLevel == 1
		if assigned != nil {
			paged = assigned[oc.User.ID]
		}
		if paged && oc.User.Email != "" && !slices.Contains(emails, oc.User.Email) {
			emails = append(emails, oc.User.Email)
		}
	}
	return emails, nil
}

func (c *Client) getIncident(ctx context.Context, id string) (*pagerduty.Incident, error) {
	var inc *pagerduty.Incident
	err := c.call(ctx, "incidents.get", false, func(ctx context.Context) error {
		var err error
		inc, err = c.pd.GetIncidentWithContext(ctx, id)
		return err
	})
	return inc, err
}
