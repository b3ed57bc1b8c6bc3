package pagerduty

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/PagerDuty/go-pagerduty"

	"github.com/firebreakhq/firebreak/incident"
)

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
