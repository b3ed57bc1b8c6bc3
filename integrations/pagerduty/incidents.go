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

// Page opens a page for req. With a REST API token and the service's
// ServiceID it creates an incident attributed to req.FromEmail (or
// Config.FromEmail); otherwise it sends an Events API v2 trigger with the
// service's RoutingKey. The same DedupKey returns the same page: with the
// REST API, the incident PagerDuty has open under the key, when it was
// opened no earlier than req.NotBefore (a minute allowed for the clocks'
// skew). EINVALID when the service has neither, or no From e-mail is
// known; EFORBIDDEN when PagerDuty refuses the From user (403) or the
// token; ECONFLICT when PagerDuty has an older open incident under the
// key, someone else's; EUNAVAILABLE when PagerDuty does not answer; an
// error with RetryAfter when it rate limits us.
func (c *Client) Page(ctx context.Context, req incident.PageRequest) (*incident.Page, error) {
	page, _, err := c.PageWithBackup(ctx, req)
	return page, err
}

// Backup-page outcomes: why a page asked to reach the backup (the
// escalation policy's level 2) did not.
const (
	backupByRoutingKey = "it is paged with a routing key (PagerDuty's Events API), which reaches only the first level of its escalation policy"
	backupNobodyOnCall = "nobody is on call at level 2 of its escalation policy"
)

// PageWithBackup is Page, and says why the backup was not paged when req
// asked for it: empty when it was, or when req did not ask. A routing key
// reaches only the escalation policy's first level; the REST API pages
// level 2 as well when somebody is on call there.
func (c *Client) PageWithBackup(ctx context.Context, req incident.PageRequest) (*incident.Page, string, error) {
	switch {
	case c.useREST(req.Service):
		return c.pageREST(ctx, req)
	case req.Service.PagerDuty.RoutingKey != "":
		page, err := c.pageEvents(ctx, req)
		if err != nil || !req.Backup {
			return page, "", err
		}
		return page, backupByRoutingKey, nil
	case req.Service.PagerDuty.ServiceID != "":
		return nil, "", incident.Errorf(incident.EINVALID,
			"Service %q has a PagerDuty service_id but the bot has no PagerDuty REST API token; set the token, or give the service a routing_key.",
			serviceName(req.Service))
	}
	return nil, "", incident.Errorf(incident.EINVALID,
		"Service %q is not linked to PagerDuty; add a pagerduty service_id (with a REST API token) or a routing_key to it in the policy file.",
		serviceName(req.Service))
}

func (c *Client) pageREST(ctx context.Context, req incident.PageRequest) (*incident.Page, string, error) {
	from := cmp.Or(req.FromEmail, c.from)
	if from == "" {
		return nil, "", incident.Errorf(incident.EINVALID,
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
		if err == nil {
			err = c.ours(ctx, inc, req)
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("page %s: %w", serviceName(req.Service), err)
	}
	missed := ""
	if req.Backup {
		if inc, missed, err = c.addBackup(ctx, from, req.Service, inc); err != nil {
			return nil, "", fmt.Errorf("page %s backup: %w", serviceName(req.Service), err)
		}
	}
	page := restPage(c.clock.Now(), req, inc)
	c.log.InfoContext(ctx, "pagerduty incident open",
		slog.String("incident", req.IncidentKey), slog.String("service", req.Service.Key),
		slog.String("pagerduty_incident", inc.ID), slog.Int("assignees", len(page.Assignees)))
	return page, missed, nil
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
	return nil, incident.Errorf(incident.EUNAVAILABLE,
		"PagerDuty reported an open incident for this page but no longer lists it; try again.")
}

// adoptSkew is how much earlier than the request's NotBefore an open
// incident found under its key may have been opened and still be its own:
// PagerDuty's clock and the bot's differ a little, and PagerDuty gives its
// times to the second.
const adoptSkew = time.Minute

// ours checks that inc, the open incident PagerDuty has under the request's
// key, is the request's own page (opened by an earlier attempt whose answer
// was lost) rather than someone else's: it must have been opened no earlier
// than the request's NotBefore. ECONFLICT, saying whose it may be, when it
// is older: paging under another key is what pages on-call then.
func (c *Client) ours(ctx context.Context, inc *pagerduty.Incident, req incident.PageRequest) error {
	if req.NotBefore.IsZero() {
		return nil
	}
	created, err := time.Parse(time.RFC3339, inc.CreatedAt)
	if err != nil || !created.Before(req.NotBefore.Add(-adoptSkew)) {
		return nil
	}
	c.log.WarnContext(ctx, "pagerduty has an older open incident under the page's key; not taking it for this page",
		slog.String("incident", req.IncidentKey), slog.String("service", req.Service.Key),
		slog.String("pagerduty_incident", inc.ID), slog.Time("created_at", created), slog.Time("declared_at", req.NotBefore))
	return incident.Errorf(incident.ECONFLICT,
		"PagerDuty already has an open incident under this page's key, #%d, opened %s, before %s was declared: it is not this incident's page (another installation of the bot on the same PagerDuty account, or an incident this database no longer has), so it was left alone and nobody was paged for %s. Retry pages under a new key.",
		inc.IncidentNumber, created.UTC().Format("2006-01-02 15:04 MST"), req.IncidentKey, req.IncidentKey)
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
// when everyone is already assigned. It says why the backup was not paged
// (nobody is on call at level 2), or nothing when it was.
func (c *Client) addBackup(ctx context.Context, from string, svc incident.ServicePolicy, inc *pagerduty.Incident) (*pagerduty.Incident, string, error) {
	policy := cmp.Or(svc.PagerDuty.EscalationPolicy, inc.EscalationPolicy.ID)
	oncalls, err := c.listOnCalls(ctx, svc, policy)
	if err != nil {
		return nil, "", err
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
		return inc, backupNobodyOnCall, nil
	}
	if !missing {
		return inc, "", nil
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
		return nil, "", err
	}
	for i := range res.Incidents {
		if res.Incidents[i].ID == inc.ID {
			return &res.Incidents[i], "", nil
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
	return &updated, "", nil
}

// restPage is the page of req that inc, its PagerDuty incident, is; now
// dates it when PagerDuty does not.
func restPage(now time.Time, req incident.PageRequest, inc *pagerduty.Incident) *incident.Page {
	created, err := time.Parse(time.RFC3339, inc.CreatedAt)
	if err != nil {
		created = now
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
	if at := changedAt(inc); !at.IsZero() {
		// The page's (or the backup's reassignment's) time by PagerDuty's
		// clock, which orders PagerDuty's reports of it.
		page.StatusAt = &at
	}
	for _, a := range inc.Assignments {
		if name := cmp.Or(a.Assignee.Summary, a.Assignee.ID); name != "" && !slices.Contains(page.Assignees, name) {
			page.Assignees = append(page.Assignees, name)
		}
	}
	return page
}

// Acknowledge acknowledges page as the PagerDuty user with email. ENOTFOUND
// when no PagerDuty user has the e-mail; EINVALID when the page was sent
// with a routing key the client cannot look up; ECONFLICT, naming who,
// when PagerDuty has it acknowledged already by somebody else (acknowledged
// by the same user, it is a success at the time they did).
//
// It returns PagerDuty's time of the acknowledgement: the incident's
// last_status_change_at in its answer to the update. The Events API's
// answer carries no time, so a page sent with a routing key gets zero.
func (c *Client) Acknowledge(ctx context.Context, page incident.Page, email string) (time.Time, error) {
	if isEventsPage(page) {
		return time.Time{}, c.followUp(ctx, page, "acknowledge")
	}
	if err := c.needToken(); err != nil {
		return time.Time{}, err
	}
	email = strings.TrimSpace(email)
	if email == "" {
		return time.Time{}, incident.Errorf(incident.EINVALID, "We need your e-mail address to acknowledge in PagerDuty as you.")
	}
	user, err := c.userByEmail(ctx, email)
	if err != nil {
		return time.Time{}, fmt.Errorf("acknowledge %s: %w", page.ExternalID, err)
	}
	at, err := c.manage(ctx, user.Email, page.ExternalID, "acknowledged")
	if ae := asAPIError(err); ae != nil && ae.alreadyAcknowledged() {
		// Acknowledged in PagerDuty before the click reached it, which
		// refuses to acknowledge it again.
		at, err = c.acknowledgedAt(ctx, page.ExternalID, user)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("acknowledge %s: %w", page.ExternalID, err)
	}
	return at, nil
}

// acknowledgedAt is when, by PagerDuty's clock, user acknowledged the
// incident with id, which PagerDuty called acknowledged already: the
// acknowledgement stands as theirs when they are among its
// acknowledgers. ECONFLICT, naming who did, when somebody else
// acknowledged it or it is no longer acknowledged.
func (c *Client) acknowledgedAt(ctx context.Context, id string, user *pagerduty.User) (time.Time, error) {
	inc, err := c.getIncident(ctx, id)
	if err != nil {
		return time.Time{}, err
	}
	if inc.Status != "" && inc.Status != "acknowledged" {
		return time.Time{}, incident.Errorf(incident.ECONFLICT,
			"PagerDuty called it acknowledged already, then reported it %s; nothing was acknowledged.", inc.Status)
	}
	var others []string
	integration := false
	for _, a := range inc.Acknowledgements {
		if a.Acknowledger.ID == user.ID && isUserReference(a.Acknowledger.Type) {
			return changedAt(inc), nil
		}
		if name := personName(a.Acknowledger); name != "" && !slices.Contains(others, name) {
			others = append(others, name)
		} else if name == "" && a.Acknowledger.Type != "" {
			// A service or an integration (through the Events API):
			// nobody to name.
			integration = true
		}
	}
	if len(others) == 0 {
		if integration {
			return time.Time{}, incident.Errorf(incident.ECONFLICT, "It is acknowledged already in PagerDuty, by an integration.")
		}
		return time.Time{}, incident.Errorf(incident.ECONFLICT, "It is acknowledged already in PagerDuty.")
	}
	return time.Time{}, incident.Errorf(incident.ECONFLICT, "It is acknowledged already in PagerDuty, by %s.", strings.Join(others, ", "))
}

// Resolve resolves page, as Config.FromEmail for a REST incident, and
// returns PagerDuty's time of it as Acknowledge does.
func (c *Client) Resolve(ctx context.Context, page incident.Page) (time.Time, error) {
	if isEventsPage(page) {
		return time.Time{}, c.followUp(ctx, page, "resolve")
	}
	if err := c.needToken(); err != nil {
		return time.Time{}, err
	}
	if c.from == "" {
		return time.Time{}, incident.Errorf(incident.EINVALID,
			"PagerDuty needs the e-mail of a PagerDuty user to resolve as; set the bot's PagerDuty From e-mail.")
	}
	at, err := c.manage(ctx, c.from, page.ExternalID, "resolved")
	if ae := asAPIError(err); ae != nil && (ae.alreadyResolved() || ae.alreadyMerged()) {
		// Somebody resolved it in PagerDuty first, or merged it into
		// another incident, which resolves it, and PagerDuty refuses to
		// resolve it again: the page is resolved, at PagerDuty's time.
		at, err = c.resolvedAt(ctx, page.ExternalID)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("resolve %s: %w", page.ExternalID, err)
	}
	return at, nil
}

// resolvedAt is when, by PagerDuty's clock, the incident with id was
// resolved: its last status change while it is resolved. Zero when it
// gives no time; ECONFLICT when it is open again by now.
func (c *Client) resolvedAt(ctx context.Context, id string) (time.Time, error) {
	inc, err := c.getIncident(ctx, id)
	if err != nil {
		return time.Time{}, err
	}
	if inc.Status != "" && inc.Status != "resolved" {
		return time.Time{}, incident.Errorf(incident.ECONFLICT,
			"PagerDuty called the incident resolved already, then reported it %s; try again.", inc.Status)
	}
	return changedAt(inc), nil
}

// followUp sends an Events API v2 acknowledge or resolve for page. Its
// answer (status, message, dedup_key) says when nothing happened.
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

func (c *Client) getIncident(ctx context.Context, id string) (*pagerduty.Incident, error) {
	var inc *pagerduty.Incident
	err := c.call(ctx, "incidents.get", false, func(ctx context.Context) error {
		var err error
		inc, err = c.pd.GetIncidentWithContext(ctx, id)
		return err
	})
	return inc, err
}
