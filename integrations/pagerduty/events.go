package pagerduty

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/PagerDuty/go-pagerduty"

	"github.com/firebreakhq/firebreak/incident"
)

func (c *Client) pageEvents(ctx context.Context, req incident.PageRequest) (*incident.Page, error) {
	if req.Backup {
		// An Events API v2 integration key can only trigger the service's
		// escalation policy from level 1; reaching level 2 at once needs the
		// REST API. The caller is told (PageWithBackup).
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
	summary := truncate(pageTitle(req), maxSummary)
	var cut []string
	if summary != pageTitle(req) {
		cut = append(cut, fmt.Sprintf("summary cut to %d characters", maxSummary))
	}
	ev := &pagerduty.V2Event{
		RoutingKey: req.Service.PagerDuty.RoutingKey,
		Action:     "trigger",
		DedupKey:   req.DedupKey,
		Client:     "firebreak",
		ClientURL:  req.Link,
		Payload: &pagerduty.V2Payload{
			Summary:   summary,
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
	if fitEvent(ev, details, cut) {
		c.log.WarnContext(ctx, "pagerduty event trimmed to fit the Events API size limit",
			slog.String("incident", req.IncidentKey), slog.String("service", req.Service.Key), slog.Any("trimmed", details[trimmedKey]))
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

// maxEventBytes bounds the encoded Events API v2 event. PagerDuty documents
// "Events API payloads are limited to 512 KB" (developer-docs
// events-API-v2/01-Overview.md, "Size Limits"); 512,000 bytes fits either
// reading of a kilobyte, and is the bound PagerDuty's own change to
// Alertmanager enforces.
const maxEventBytes = 512_000

// trimmedKey is the custom_details entry that says what was cut to fit.
const trimmedKey = "trimmed"

// fitEvent makes ev fit maxEventBytes as the SDK encodes it (json.Marshal)
// by cutting the longest strings of details, its custom_details, keeping
// their start, and says in details[trimmedKey] what was cut, after cut
// (what the caller cut already, such as the summary). As a last resort it
// drops the links and every detail but the note. It reports whether it
// wrote a note.
func fitEvent(ev *pagerduty.V2Event, details map[string]any, cut []string) bool {
	note := func() {
		if len(cut) > 0 {
			details[trimmedKey] = strings.Join(cut, "; ") + ", to fit PagerDuty's 512 KB event limit; the incident channel has it all."
		}
	}
	note()
	over := encodedSize(ev) - maxEventBytes
	if over <= 0 {
		return len(cut) > 0
	}
	sized := map[string]bool{}
	for over > 0 {
		key := longestString(details, sized)
		if key == "" {
			break
		}
		sized[key] = true
		v := details[key].(string)
		// Room for the note about this cut, and its growth.
		const noteRoom = 200
		kept := prefixWithin(v, encodedSize(v)-over-noteRoom)
		details[key] = kept
		cut = append(cut, fmt.Sprintf("custom_details.%s cut from %d to %d bytes", key, len(v), len(kept)))
		note()
		over = encodedSize(ev) - maxEventBytes
	}
	if over > 0 {
		for k := range details {
			if k != trimmedKey {
				delete(details, k)
			}
		}
		ev.Links, ev.ClientURL = nil, ""
		cut = append(cut, "custom_details and links dropped")
		note()
	}
	return true
}

// longestString returns the key of the longest string in details, other
// than the note and the keys in skip; "" when there is none.
func longestString(details map[string]any, skip map[string]bool) string {
	keys := make([]string, 0, len(details))
	for k := range details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	best, bestLen := "", 0
	for _, k := range keys {
		if s, ok := details[k].(string); ok && k != trimmedKey && !skip[k] && len(s) > bestLen {
			best, bestLen = k, len(s)
		}
	}
	return best
}

// prefixWithin returns the longest start of s, ended with "…", whose JSON
// encoding takes at most budget bytes; "" when none does.
func prefixWithin(s string, budget int) string {
	runes := []rune(s)
	// The number of runes kept is found by bisection: JSON escapes some
	// runes to six bytes, so bytes do not tell it directly.
	lo, hi := 0, len(runes)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if encodedSize(string(runes[:mid])+"…") <= budget {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo == 0 {
		return ""
	}
	return string(runes[:lo]) + "…"
}

// encodedSize is the size of v encoded as the SDK sends it.
func encodedSize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b)
}
