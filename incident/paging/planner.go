package paging

import (
	"cmp"
	"context"
	"fmt"

	"github.com/firebreakhq/firebreak/incident"
)

// planner plans the pages of a declare and of a severity raise.
type planner struct{ *Service }

// adopt records page, the provider's incident that is paging inc's service
// already (the PagerDuty incident an alert was, inc declared from it), as
// inc's page, on the declare's transaction tx, and reports whether it did.
// Its acknowledgement, escalation and resolution in PagerDuty are then the
// incident's page's, and resolving the incident resolves it, as for a page
// the bot sent; the bot follows it as its own (inviting its people,
// escalating it when nobody acknowledges), says it in the channel once the
// channel exists, with its Acknowledge button, and adds the backup to it
// when the severity pages the backup too. A page of the provider's that is
// another incident's already is not taken (false): the service is paged
// for this incident as usual.
func (s planner) adopt(ctx context.Context, tx incident.Tx, inc *incident.Incident, page incident.Page, actor string) (bool, error) {
	pages, ok := tx.(Tx)
	if !ok {
		return false, fmt.Errorf("the store's transaction (%T) cannot record pages", tx)
	}
	if page.ExternalID == "" || page.DedupKey == "" || page.ExternalID == page.DedupKey {
		// Not a PagerDuty incident the REST API can act on.
		return false, nil
	}
	for _, ref := range []string{page.ExternalID, page.DedupKey} {
		other, err := pages.FindPage(ctx, "pagerduty", ref)
		if err == nil {
			s.log.InfoContext(ctx, "the PagerDuty incident is another incident's page already; paging the service", "incident", inc.Key(),
				"pagerduty_incident", page.ExternalID, "page_of", other.IncidentID)
			return false, nil
		} else if incident.ErrorCode(err) != incident.ENOTFOUND {
			return false, fmt.Errorf("find the page %s: %w", ref, err)
		}
	}
	page.ID, page.IncidentID, page.Provider, page.Service = 0, inc.ID, "pagerduty", inc.Service
	page.Status = cmp.Or(page.Status, "triggered")
	if page.CreatedAt.IsZero() {
		page.CreatedAt = s.clock.Now()
	}
	if err := pages.AddPage(ctx, &page); err != nil {
		return false, fmt.Errorf("record the page: %w", err)
	}
	source := "adopted:" + page.DedupKey
	name := serviceName(s.policy, inc.Service)
	note := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventPaged, Actor: "bot", At: s.clock.Now(), SourceID: source,
		Text: fmt.Sprintf("%s was declared from a PagerDuty incident that is paging %s already (%s): that incident is its page, and %s was not paged a second time.",
			inc.Key(), name, cmp.Or(page.URL, page.ExternalID), name),
		Payload: incident.PagedData{Service: inc.Service, Page: page.DedupKey}}
	if err := tx.AddTimelineEvent(ctx, &note); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
		return false, fmt.Errorf("record the page: %w", err)
	}
	// Said in the channel once it exists (with the backup added first,
	// when the severity pages it).
	p := pagePayload{IncidentID: inc.ID, Service: inc.Service, Actor: actor, Key: page.DedupKey,
		Backup: s.policy.Severity(inc.Severity).Paging == incident.PageOnCallAndBackup}
	if err := s.schedulePage(ctx, tx, p); err != nil {
		return false, err
	}
	return true, repager(s).followPage(ctx, tx, inc, &page, source)
}

// raise plans the page of a raise of inc's severity, per the new
// severity's paging policy: the service's open page gains the backup (or
// stays as it is); a page resolved at the provider while the incident goes
// on is followed by a new one, under a key of its own, which the bot
// records and resolves with the incident; a service not paged yet is paged.
func (s planner) raise(ctx context.Context, inc *incident.Incident, actor string) error {
	sp := s.policy.Severity(inc.Severity)
	if sp.Paging == incident.PageNone || inc.Service == "" {
		return nil
	}
	p := pagePayload{IncidentID: inc.ID, Service: inc.Service, Backup: sp.Paging == incident.PageOnCallAndBackup, Actor: actor}
	pages, err := s.store.ListPages(ctx, inc.ID)
	if err != nil {
		return fmt.Errorf("plan the page of the raise: %w", err)
	}
	var last *incident.Page
	for i := range pages {
		if pages[i].Service == inc.Service {
			last = &pages[i]
		}
	}
	switch {
	case last == nil:
		// Not paged yet, or its page is still being sent: the first
		// page, which the raise's job sends or adds the backup to.
	case last.Status != "resolved":
		p.Key = last.DedupKey
	default:
		if p.Round, err = s.keys.nextRound(ctx, inc.ID, inc.Service, pages, 0); err != nil {
			return fmt.Errorf("plan the page of the raise: %w", err)
		}
	}
	return s.schedulePage(ctx, s.sched, p)
}
