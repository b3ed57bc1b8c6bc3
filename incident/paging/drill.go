package paging

import (
	"context"
	"fmt"
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
