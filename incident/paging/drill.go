package paging

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// drillPagerService is where a drill pages: the policy's test service, or
// nowhere (simulated) when it names none.
func drillPagerService(p incident.Policy, svc incident.ServicePolicy) (incident.ServicePolicy, bool) {
	pd := p.Drills.PagerDuty
	if pd.ServiceID == "" && pd.RoutingKey == "" {
		return svc, false
	}
	svc.PagerDuty = pd
	svc.Name = svc.Name + " (drill test service)"
	return svc, true
}

// servicePager is a Pager that follows up pages of a service (acknowledges,
// resolves, escalates them, says whom they reached) with a PagerDuty
// configuration other than the one the policy gives the service.
type servicePager interface {
	WithService(svc incident.ServicePolicy) incident.Pager
}

// followUpPager is the pager that follows up inc's pages of service,
// pager itself but for a drill under policy p. A drill's
// pages went to the drills' test service (runPage), so they are followed
// up there: acknowledging or resolving a drill's page, escalating it and
// inviting whom it reached never reach the production service's
// PagerDuty, its routing key or its on-call.
//
// ok is false for a drill whose follow-ups have no drill PagerDuty setup
// now: drills.pagerduty was removed from the policy (or the service
// dropped) while the drill's page is open, or pager cannot follow up with
// another setup. The follow-up is then skipped, never sent with the
// production service's setup.
func followUpPager(pager incident.Pager, p incident.Policy, inc *incident.Incident, service string) (incident.Pager, bool) {
	if !inc.Drill {
		return pager, true
	}
	svc, ok := p.Services[service]
	if !ok {
		return nil, false
	}
	test, real := drillPagerService(p, svc)
	sp, ok := pager.(servicePager)
	if !real || !ok {
		return nil, false
	}
	return sp.WithService(test), true
}

// skipDrillFollowUp logs on log that what follows a drill's page (what) is
// skipped: the drill has no PagerDuty setup to follow it up with now
// (followUpPager). The channel is not told: nothing went wrong in the
// drill.
func skipDrillFollowUp(ctx context.Context, log *slog.Logger, inc *incident.Incident, page *incident.Page, what string) {
	log.InfoContext(ctx, "drill page not followed up: drills.pagerduty names no PagerDuty service now, and a drill's page is never followed up on the production service",
		"incident", inc.Key(), "page", page.DedupKey, "follow_up", what)
}

// pagerOf is the followUpPager of page, whose incident it reads. ok is
// false when the follow-up (what) is skipped, which it logs.
func (s *Service) pagerOf(ctx context.Context, page *incident.Page, what string) (pager incident.Pager, ok bool, err error) {
	inc, err := s.store.GetIncident(ctx, page.IncidentID)
	if err != nil {
		return nil, false, fmt.Errorf("the incident of page %s: %w", page.DedupKey, err)
	}
	pager, ok = followUpPager(s.pager, s.policy, inc, page.Service)
	if !ok {
		skipDrillFollowUp(ctx, s.log, inc, page, what)
	}
	return pager, ok, nil
}

// simulatePage records the page a drill would have sent, without paging.
func (s *Service) simulatePage(ctx context.Context, inc *incident.Incident, p pagePayload, svc incident.ServicePolicy, source string) error {
	if announced(ctx, s.store, inc.ID, source) {
		return nil
	}
	if inc.ChannelID == "" {
		return incident.RetryLater(2*time.Second, "%s has no channel yet", inc.Key())
	}
	n := incident.Notice{Kind: incident.NoticePageSimulated, Incident: inc.Key(), Actor: orBot(p.Actor), Drill: inc.Drill,
		Values: map[string]string{"service": svc.Name, "backup": fmt.Sprint(p.Backup)}}
	if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
		return fmt.Errorf("announce the simulated page: %w", err)
	}
	ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventPaged, Actor: orBot(p.Actor), At: s.clock.Now(), Key: true, Text: s.noticeText(n),
		SourceID: source, Payload: incident.PagedData{Service: p.Service, Simulated: true}}
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
		return fmt.Errorf("record simulated page: %w", err)
	}
	return nil
}
