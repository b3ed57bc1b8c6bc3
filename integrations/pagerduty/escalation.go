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
