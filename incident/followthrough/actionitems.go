package followthrough

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/firebreakhq/firebreak/incident"
)

// Followups lists open action items across incidents, overdue first, then
// by due date. Drills' items are included: a drill's follow-ups are real.
func (s *Service) Followups(ctx context.Context, f incident.FollowUpFilter) ([]incident.FollowUp, error) {
	if f.Viewer == "" && !f.Internal {
		return nil, incident.Errorf(incident.EINVALID, "Say who is asking for the follow-ups.")
	}
	items, err := s.store.ListOpenActionItems(ctx)
	if err != nil {
		return nil, fmt.Errorf("list follow-ups: %w", err)
	}
	seen := map[int64]bool{}
	today := incident.Day(s.clock.Now(), s.policy.Location)
	incs := map[int64]*incident.Incident{}
	var out []incident.FollowUp
	for _, it := range items {
		if f.Owner != "" && it.Owner != f.Owner {
			continue
		}
		overdue := it.DueOn != nil && it.DueOn.Before(today)
		if f.OverdueOnly && !overdue {
			continue
		}
		inc, ok := incs[it.IncidentID]
		if !ok {
			if inc, err = s.store.GetIncident(ctx, it.IncidentID); err != nil {
				return nil, fmt.Errorf("list follow-ups: %w", err)
			}
			incs[it.IncidentID] = inc
			if !f.Internal {
				ok, err := s.core.CanSee(ctx, f.Viewer, inc)
				if err != nil {
					return nil, fmt.Errorf("list follow-ups: %w", err)
				}
				seen[inc.ID] = ok
			}
		}
		if !f.Internal && !seen[inc.ID] {
			continue
		}
		out = append(out, incident.FollowUp{Item: it, Incident: inc, Overdue: overdue})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Overdue != b.Overdue {
			return a.Overdue
		}
		switch {
		case a.Item.DueOn == nil && b.Item.DueOn == nil:
			return false
		case a.Item.DueOn == nil:
			return false
		case b.Item.DueOn == nil:
			return true
		}
		return a.Item.DueOn.Before(*b.Item.DueOn)
	})
	return out, nil
}

// INC-n"), its owner and due date, never its text nor its tracker link.
func redactedFollowUpItem(f incident.FollowUp) incident.Notice {
	n := incident.Notice{Kind: incident.NoticeFollowUpItem, Incident: incident.DisclosedTitle(f.Incident, incident.DiscloseRedacted), User: f.Item.Owner,
		Values: map[string]string{"private": "true", "overdue": fmt.Sprint(f.Overdue)}}
	if f.Item.DueOn != nil {
		n.Values["due"] = f.Item.DueOn.Format("Mon 2 Jan")
	}
	return n
}

// CompleteActionItem marks an action item done, as when its tracker issue
// is closed; actor names who or what closed it. Done twice is no change.
// ENOTFOUND for an unknown item, or one of another incident than incKey.
// The item, its timeline event and the line for the channel commit
// together, or none of them does.
func (s *Service) CompleteActionItem(ctx context.Context, incKey string, itemID int64, actor, link string) error {
	item, err := s.store.GetActionItem(ctx, itemID)
	if err != nil {
		return fmt.Errorf("complete action item: %w", err)
	}
	inc, err := s.store.GetIncident(ctx, item.IncidentID)
	if err != nil {
		return fmt.Errorf("complete action item: %w", err)
	}
	if incKey != "" && !strings.EqualFold(inc.Key(), incKey) {
		return incident.Errorf(incident.ENOTFOUND, "Action item %d does not belong to %s.", itemID, incKey)
	}
	if item.Done {
		return nil
	}
	err = s.atomic(ctx, func(tx Tx) error {
		done := false
		if _, err := tx.UpdateActionItem(ctx, item.ID, func(a *incident.ActionItem) error {
			if a.Done {
				return nil
			}
			a.Done, done = true, true
			if a.ExternalURL == "" {
				a.ExternalURL = link
			}
			return nil
		}); err != nil {
			return err
		}
		if !done {
			return nil
		}
		n := incident.Notice{Kind: incident.NoticeFollowUpDone, Incident: inc.Key(), Values: map[string]string{"by": actor, "text": item.Text, "url": link}}
		ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventNote, Actor: actor, At: s.clock.Now(), Text: s.noticeText(n),
			SourceID: fmt.Sprintf("item_done:%d", item.ID), Payload: incident.NoteData{ActionItem: item.ID}}
		if err := tx.AddTimelineEvent(ctx, &ev); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
			return err
		}
		if inc.ChannelID == "" {
			return nil
		}
		return s.core.NotifyOn(ctx, tx, inc, n)
	})
	if err != nil {
		return fmt.Errorf("complete action item: %w", err)
	}
	return nil
}
