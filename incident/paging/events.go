package paging

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

type ackPagePayload struct {
	PageKey string               `json:"page"`
	User    string               `json:"user"`
	Reply   incident.ReplyTarget `json:"reply"`
}

// AcknowledgePage acknowledges a page in PagerDuty as the person who
// clicked, mapped by their Slack e-mail. It runs as a job: the click is
// answered at once, and PagerDuty's webhook confirms it in the channel.
func (s *Service) AcknowledgePage(ctx context.Context, pageKey string, user string, reply incident.ReplyTarget) error {
	if _, err := s.store.FindPage(ctx, "pagerduty", pageKey); err != nil {
		return incident.Errorf(incident.ENOTFOUND, "That page no longer exists.")
	}
	payload, _ := json.Marshal(ackPagePayload{PageKey: pageKey, User: user, Reply: reply})
	_, err := s.sched.Schedule(ctx, incident.Job{Kind: JobAckPage, Key: "ack:" + pageKey + ":" + user, Payload: payload, MaxAttempts: 5, Urgent: true})
	return err
}

func (s *Service) runAckPage(ctx context.Context, payload []byte) error {
	var p ackPagePayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode ack: %w: %w", err, incident.ErrJobCancel)
	}
	page, err := s.store.FindPage(ctx, "pagerduty", p.PageKey)
	if err != nil {
		return fmt.Errorf("acknowledge: %w: %w", err, incident.ErrJobCancel)
	}
	refused := func(reason string) incident.Notice {
		return incident.Notice{Kind: incident.NoticePageAckRefused, User: p.User, Values: map[string]string{"error": reason}}
	}
	email, err := s.chat.UserEmail(ctx, p.User)
	if err != nil || email == "" {
		_ = s.chat.Tell(ctx, p.Reply, refused(""))
		return nil
	}
	if err := s.pager.Acknowledge(ctx, *page, email); err != nil {
		if c := incident.ErrorCode(err); c == incident.ENOTFOUND || c == incident.EINVALID || c == incident.EFORBIDDEN {
			_ = s.chat.Tell(ctx, p.Reply, refused(incident.ErrorMessage(err)))
			return nil
		}
		return fmt.Errorf("acknowledge page %s: %w", p.PageKey, err)
	}
	return s.applyAck(ctx, page, p.User, "", s.clock.Now(), "slack-ack:"+p.PageKey)
}

// HandlePageEvent applies a PagerDuty webhook delivery: a line in the
// channel, a timeline event, the panel refreshed, and on the first
// acknowledgement the incident's acknowledged time. A redelivery (same
// delivery id) changes nothing.
func (s *Service) HandlePageEvent(ctx context.Context, ev incident.PageEvent) error {
	var page *incident.Page
	var err error
	for _, ref := range []string{ev.DedupKey, ev.ExternalID} {
		if ref == "" {
			continue
		}
		if page, err = s.store.FindPage(ctx, "pagerduty", ref); err == nil {
			break
		} else if incident.ErrorCode(err) != incident.ENOTFOUND {
			// The store failed: the sender must deliver the event again.
			return fmt.Errorf("find the page of %s: %w", ref, err)
		}
	}
	if page == nil {
		return nil // not a page of ours
	}
	at := ev.At
	if at.IsZero() {
		at = s.clock.Now()
	}
	switch ev.Kind {
	case incident.PageAcknowledged:
		return s.applyAck(ctx, page, "", ev.Agent, at, "pd:"+ev.DeliveryID)
	default:
		return s.applyPageEvent(ctx, page, ev, at)
	}
}

// applyAck records an acknowledgement once per source id.
func (s *Service) applyAck(ctx context.Context, page *incident.Page, slackUser, agent string, at time.Time, sourceID string) error {
	who := agent
	if who == "" && slackUser == "" {
		who = "someone"
	}
	n := incident.Notice{Kind: incident.NoticePageAcknowledged, Actor: orBot(slackUser), User: slackUser,
		Values: map[string]string{"agent": agent, "after": incident.Since(page.CreatedAt, at)}}
	// The dedupe marker (the event's source id), the page and the incident
	// change together, or not at all so that a redelivery applies them.
	return atomic(ctx, s.store, func(tx incident.Tx, pages Tx) error {
		if err := tx.AddTimelineEvent(ctx, &incident.TimelineEvent{IncidentID: page.IncidentID, Kind: incident.EventAcknowledged, Actor: orBot(slackUser),
			At: at, Key: true, Text: s.noticeText(n), SourceID: sourceID, Payload: incident.AcknowledgedData{Page: page.DedupKey, By: who, User: slackUser}}); incident.ErrorCode(err) == incident.ECONFLICT {
			return nil
		} else if err != nil {
			return fmt.Errorf("record acknowledgement: %w", err)
		}
		if _, err := pages.UpdatePage(ctx, page.ID, func(p *incident.Page) error {
			if p.AcknowledgedAt == nil {
				t := at
				p.AcknowledgedAt, p.AcknowledgedBy = &t, who
			}
			p.Status = "acknowledged"
			return nil
		}); err != nil {
			return fmt.Errorf("record acknowledgement: %w", err)
		}
		_, err := s.core.ChangeIn(ctx, tx, page.IncidentID, func(i *incident.Incident) ([]incident.TimelineEvent, []incident.Notice, error) {
			if i.AcknowledgedAt == nil {
				t := at
				i.AcknowledgedAt = &t // MTTA counts from the first acknowledgement
			}
			n.Incident = i.Key()
			return nil, []incident.Notice{n}, nil
		})
		if incident.ErrorCode(err) == incident.ECONFLICT {
			return nil // closed meanwhile
		}
		return err
	})
}

// applyPageEvent records what the provider did to a page (unacknowledged
// again, escalated, reassigned, resolved, reopened) once per delivery.
func (s *Service) applyPageEvent(ctx context.Context, page *incident.Page, ev incident.PageEvent, at time.Time) error {
	var status string
	switch ev.Kind {
	case incident.PageUnacknowledged, incident.PageEscalated, incident.PageReopened:
		status = "triggered"
	case incident.PageReassigned:
		status = page.Status
	case incident.PageResolved:
		status = "resolved"
	default:
		return nil
	}
	agent := ev.Agent
	if agent == "" {
		agent = "PagerDuty"
	}
	n := incident.Notice{Kind: incident.NoticePageEvent, Actor: "pagerduty",
		Values: map[string]string{"event": string(ev.Kind), "service": page.Service, "agent": agent, "assignees": strings.Join(ev.Assignees, ", ")}}
	return atomic(ctx, s.store, func(tx incident.Tx, pages Tx) error {
		if err := tx.AddTimelineEvent(ctx, &incident.TimelineEvent{IncidentID: page.IncidentID, Kind: incident.EventPaged, Actor: "pagerduty", At: at,
			Text: s.noticeText(n), SourceID: "pd:" + ev.DeliveryID, Payload: incident.PagedData{Page: page.DedupKey, Event: ev.Kind}}); incident.ErrorCode(err) == incident.ECONFLICT {
			return nil
		} else if err != nil {
			return fmt.Errorf("record page event: %w", err)
		}
		if ev.Kind == incident.PageEscalated || ev.Kind == incident.PageReassigned {
			if err := (repager{s}).scheduleInvitePaged(ctx, tx, page, "pd:"+ev.DeliveryID); err != nil {
				return err
			}
		}
		if _, err := pages.UpdatePage(ctx, page.ID, func(p *incident.Page) error {
			p.Status = status
			if len(ev.Assignees) > 0 {
				p.Assignees = ev.Assignees
			}
			switch ev.Kind {
			case incident.PageResolved:
				t := at
				p.ResolvedAt = &t
			case incident.PageReopened:
				p.ResolvedAt = nil // open again: it has not been resolved
			}
			return nil
		}); err != nil {
			return fmt.Errorf("record page event: %w", err)
		}
		_, err := s.core.ChangeIn(ctx, tx, page.IncidentID, func(i *incident.Incident) ([]incident.TimelineEvent, []incident.Notice, error) {
			n.Incident = i.Key()
			return nil, []incident.Notice{n}, nil
		})
		if incident.ErrorCode(err) == incident.ECONFLICT {
			return nil
		}
		return err
	})
}

// runResolvePages resolves an incident's open pages when it is resolved.
func (s *Service) runResolvePages(ctx context.Context, payload []byte) error {
	var p pagePayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode resolve pages: %w: %w", err, incident.ErrJobCancel)
	}
	pages, err := s.store.ListPages(ctx, p.IncidentID)
	if err != nil {
		return err
	}
	for _, page := range pages {
		if page.Status == "resolved" {
			continue
		}
		if err := s.pager.Resolve(ctx, page); err != nil {
			return fmt.Errorf("resolve page %s: %w", page.DedupKey, err)
		}
		if _, err := s.store.UpdatePage(ctx, page.ID, func(pg *incident.Page) error {
			pg.Status = "resolved"
			t := s.clock.Now()
			pg.ResolvedAt = &t
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

type onCallPayload struct {
	Service string               `json:"service"`
	Reply   incident.ReplyTarget `json:"reply"`
}

// OnCall answers "/incident oncall [service]" from a job, through the reply
// target: the lookup goes to PagerDuty, off the 3-second path.
func (s *Service) OnCall(ctx context.Context, service string, reply incident.ReplyTarget) error {
	if _, ok := s.policy.Services[service]; !ok {
		return incident.Errorf(incident.EINVALID, "Unknown service %q. Known services: %s.", service, strings.Join(s.policy.ServiceKeys(), ", "))
	}
	if !canPage(s.pager, s.policy.Services[service]) {
		return incident.Errorf(incident.EINVALID, "PagerDuty is not configured for %s.", service)
	}
	payload, _ := json.Marshal(onCallPayload{Service: service, Reply: reply})
	_, err := s.sched.Schedule(ctx, incident.Job{Kind: JobOnCall, Payload: payload, MaxAttempts: 3, Urgent: true})
	return err
}

func (s *Service) runOnCall(ctx context.Context, payload []byte) error {
	var p onCallPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode on-call: %w: %w", err, incident.ErrJobCancel)
	}
	svc := s.policy.Services[p.Service]
	people, err := s.pager.OnCall(ctx, svc)
	if err != nil {
		if attempt, max := incident.JobAttempt(ctx); attempt >= max {
			_ = s.chat.Tell(ctx, p.Reply, incident.Notice{Kind: incident.NoticeOnCall, Values: map[string]string{"service": svc.Name, "error": incident.ErrorMessage(err)}})
			return nil
		}
		return err
	}
	n := incident.Notice{Kind: incident.NoticeOnCall, Values: map[string]string{"service": svc.Name}}
	for _, o := range people {
		until := ""
		if !o.Until.IsZero() {
			until = o.Until.In(s.policy.Location).Format("Mon 15:04 MST")
		}
		n.Items = append(n.Items, incident.Notice{Kind: incident.NoticeOnCallLevel,
			Values: map[string]string{"level": fmt.Sprint(o.Level), "name": o.Name, "schedule": o.Schedule, "until": until}})
	}
	return s.chat.Tell(ctx, p.Reply, n)
}
