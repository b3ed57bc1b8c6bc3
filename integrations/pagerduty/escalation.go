package pagerduty

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/PagerDuty/go-pagerduty"

	"github.com/firebreakhq/firebreak/incident"
)

var (
	_ incident.PageEscalator  = (*Client)(nil)
	_ incident.PageResponders = (*Client)(nil)
)

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

// onCallPageSize is the most on-calls PagerDuty answers a page; the bot
// reads at most maxOnCallPages of them for one policy.
const (
	onCallPageSize = 100
	maxOnCallPages = 10
)

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
	// PagerDuty answers at most 100 on-calls a page and says "more" when
	// there are others; the pages read are bounded.
	var oncalls []pagerduty.OnCall
	for page := 0; page < maxOnCallPages; page++ {
		var list *pagerduty.ListOnCallsResponse
		err := c.call(ctx, "oncalls.list", false, func(ctx context.Context) error {
			var err error
			list, err = c.pd.ListOnCallsWithContext(ctx, pagerduty.ListOnCallOptions{
				EscalationPolicyIDs: []string{policy},
				// Users come as references without an e-mail unless included.
				Includes: []string{"users"},
				Limit:    onCallPageSize,
				Offset:   uint(len(oncalls)),
			})
			return err
		})
		if err != nil {
			return nil, err
		}
		oncalls = append(oncalls, list.OnCalls...)
		if !list.More || len(list.OnCalls) == 0 {
			break
		}
	}
	slices.SortStableFunc(oncalls, func(a, b pagerduty.OnCall) int { return cmp.Compare(a.EscalationLevel, b.EscalationLevel) })
	return oncalls, nil
}

// NextEscalationLevel returns the level of its escalation policy the page
// would escalate to now: the one after the level it is at. A page whose
// incident is acknowledged or resolved in PagerDuty escalates no further,
// and has no level to escalate to: the error is then ECONFLICT, and has an
// Answered method that returns the page as PagerDuty has it (its status
// and, when acknowledged, who acknowledged it and when), as EscalateTo
// returns it. EINVALID for a page sent with a routing key (Events API v2
// cannot escalate) or without a REST token or From e-mail; ENOTFOUND when
// nobody is on call at that level.
func (c *Client) NextEscalationLevel(ctx context.Context, page incident.Page) (int, error) {
	inc, oncalls, err := c.escalationState(ctx, page)
	if err != nil {
		return 0, err
	}
	if answered(inc) {
		return 0, &answeredError{page: escalatedPage(page, inc),
			err: incident.Errorf(incident.ECONFLICT, "PagerDuty has the page %s already; it is not escalated.", inc.Status)}
	}
	next := escalationLevel(inc, oncalls) + 1
	if !onCallAt(oncalls, next) {
		return 0, incident.Errorf(incident.ENOTFOUND, "Nobody is on call at level %d of the escalation policy.", next)
	}
	return int(next), nil
}

// EscalateTo moves a page to the level of its escalation policy now, as
// "Escalate" in PagerDuty does (PUT escalation_level): the people on call
// at that level are notified and assigned. It returns the page with its
// assignees. A page at that level or past it already is left alone
// (escalated false): PagerDuty may carry an escalation out and still fail
// to answer it, and a caller that tries again with the same level must not
// have it escalated again. An incident acknowledged or resolved in
// PagerDuty (on-call answered from the phone, and the bot has not heard
// yet) is left alone too (escalated false), and returned with its status
// and, when acknowledged, who acknowledged it and when. Errors as
// NextEscalationLevel's, ENOTFOUND when nobody is on call at the level.
func (c *Client) EscalateTo(ctx context.Context, page incident.Page, level int) (*incident.Page, bool, error) {
	if level < 1 {
		return nil, false, incident.Errorf(incident.EINVALID, "Escalation level %d is not a level of an escalation policy.", level)
	}
	inc, oncalls, err := c.escalationState(ctx, page)
	if err != nil {
		return nil, false, err
	}
	if answered(inc) {
		c.log.InfoContext(ctx, "pagerduty incident not escalated: it is "+inc.Status, slog.String("pagerduty_incident", inc.ID))
		return escalatedPage(page, inc), false, nil
	}
	to := uint(level)
	if at := escalationLevel(inc, oncalls); at >= to {
		c.log.InfoContext(ctx, "pagerduty incident already escalated", slog.String("pagerduty_incident", inc.ID),
			slog.Int("level", int(at)), slog.Int("asked", level))
		return escalatedPage(page, inc), false, nil
	}
	if !onCallAt(oncalls, to) {
		return nil, false, incident.Errorf(incident.ENOTFOUND, "Nobody is on call at level %d of the escalation policy.", level)
	}
	if inc, err = c.escalateTo(ctx, inc, to); err != nil {
		return nil, false, fmt.Errorf("escalate %s: %w", page.ExternalID, err)
	}
	c.log.InfoContext(ctx, "pagerduty incident escalated", slog.String("pagerduty_incident", inc.ID), slog.Int("level", level))
	return escalatedPage(page, inc), true, nil
}

// escalationState reads the page's incident and the on-calls of its
// escalation policy: what its escalation level is told from.
func (c *Client) escalationState(ctx context.Context, page incident.Page) (*pagerduty.Incident, []pagerduty.OnCall, error) {
	if err := c.canEscalate(page); err != nil {
		return nil, nil, err
	}
	inc, err := c.getIncident(ctx, page.ExternalID)
	if err != nil {
		return nil, nil, fmt.Errorf("escalate %s: %w", page.ExternalID, err)
	}
	oncalls, err := c.listOnCalls(ctx, c.servicePolicy(page.Service), inc.EscalationPolicy.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("escalate %s: %w", page.ExternalID, err)
	}
	return inc, oncalls, nil
}

// answeredError is NextEscalationLevel's error for a page PagerDuty has
// acknowledged or resolved: there is no level to escalate it to, and a
// caller records the answer it had not heard of from page rather than
// keeping a level for a later attempt (by then PagerDuty may have the page
// triggered again, when its acknowledgement times out, and the level it
// was at is no escalation).
type answeredError struct {
	page *incident.Page
	err  *incident.Error
}

func (e *answeredError) Error() string { return e.err.Error() }

func (e *answeredError) Unwrap() error { return e.err }

// Answered returns the page as PagerDuty has it: its status, and its
// acknowledgement when acknowledged.
func (e *answeredError) Answered() *incident.Page {
	p := *e.page
	return &p
}

// onCallAt reports whether somebody is on call at the level.
func onCallAt(oncalls []pagerduty.OnCall, level uint) bool {
	return slices.ContainsFunc(oncalls, func(oc pagerduty.OnCall) bool { return oc.EscalationLevel == level })
}

// answered reports whether PagerDuty has the incident acknowledged or
// resolved: somebody answered the page, and escalating it would wake the
// next level for nothing.
func answered(inc *pagerduty.Incident) bool {
	return inc.Status == "acknowledged" || inc.Status == "resolved"
}

// escalatedPage is page with the status and assignees of its incident, and
// PagerDuty's time of its last change (none when the incident gives none).
// An acknowledged incident's page has its acknowledgement: by the
// incident's acknowledgers that are users (else the user who last changed
// its status; nobody when a service or an integration acknowledged it), at
// the first one's time (else its last status change's).
func escalatedPage(page incident.Page, inc *pagerduty.Incident) *incident.Page {
	out := page
	out.Status = cmp.Or(inc.Status, "triggered")
	out.StatusAt = nil
	if at := changedAt(inc); !at.IsZero() {
		out.StatusAt = &at
	}
	if inc.Status == "acknowledged" {
		var by []string
		var first time.Time
		for _, a := range inc.Acknowledgements {
			if name := personName(a.Acknowledger); name != "" && !slices.Contains(by, name) {
				by = append(by, name)
			}
			if at, err := time.Parse(time.RFC3339, a.At); err == nil && (first.IsZero() || at.Before(first)) {
				first = at.UTC()
			}
		}
		if first.IsZero() && out.StatusAt != nil {
			first = *out.StatusAt
		}
		if !first.IsZero() {
			out.AcknowledgedAt = &first
		}
		out.AcknowledgedBy = cmp.Or(strings.Join(by, ", "), personName(inc.LastStatusChangeBy))
	}
	out.Assignees = nil
	for _, a := range inc.Assignments {
		if name := cmp.Or(a.Assignee.Summary, a.Assignee.ID); name != "" && !slices.Contains(out.Assignees, name) {
			out.Assignees = append(out.Assignees, name)
		}
	}
	return &out
}

// personName is the name of the person an API object reference names,
// and empty when it names no user: PagerDuty's acknowledger, status
// changer or webhook agent may be a service or an integration (an
// acknowledgement sent through the Events API, an automation), which is
// nobody to name as having acknowledged a page.
func personName(ref pagerduty.APIObject) string {
	if !isUserReference(ref.Type) {
		return ""
	}
	return cmp.Or(ref.Summary, ref.ID)
}

// isUserReference reports whether a reference's type names a user.
func isUserReference(typ string) bool {
	return typ == "user_reference" || typ == "user"
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
// its assignees on call, and 1 when none is. PagerDuty's incident object
// does not carry its level; it carries its assignments and escalation
// policy.
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
// PagerDuty answered (inc when the answer does not include it). It is
// Manage incidents (PUT /incidents, From header) with one entry
// {"id","type","escalation_level"}: the body of Update an incident (PUT
// /incidents/{id}) in a list, sent through the SDK. The outbound client may
// send it again after a 5xx or a timeout (PUT is idempotent by method);
// the level in it is absolute, so a repeat cannot go past it.
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
