package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// channelSync brings Slack in line with the stored incident after each
// change, as the durable JobSync job: it invites whoever the change added,
// refreshes the control panel, the topic and the announcement, then says
// the change's notices in the channel (mirroring the broadcast ones).
type channelSync struct {
	incidents IncidentStore
	rooms     ChannelSetup
	people    Directory
	panels    PanelPoster
	notices   NoticePoster
	log       *slog.Logger
}

// syncPayload is the JobSync input: lines to post in the incident channel
// and users to invite, before the panel, topic and announcement are
// refreshed from the stored incident.
type syncPayload struct {
	IncidentID int64    `json:"incident_id"`
	Lines      []string `json:"lines,omitempty"`
	Invite     []string `json:"invite,omitempty"`
	// Notices are said in the channel before Lines; the Broadcast ones
	// are mirrored to the broadcast channel too.
	Notices []Notice `json:"notices,omitempty"`
}

// schedule stores the sync of a change on sched (the change's own
// transaction, or the scheduler).
func (c *channelSync) schedule(ctx context.Context, sched Scheduler, inc *Incident, p syncPayload) error {
	// No key: every change schedules its own sync exactly once, and two
	// changes in the same instant must both reach Slack.
	payload, _ := json.Marshal(p)
	if _, err := sched.Schedule(ctx, Job{Kind: JobSync, Payload: payload}); err != nil {
		return fmt.Errorf("schedule update of %s in Slack: %w", inc.Key(), err)
	}
	return nil
}

// runSync is the JobSync handler. The overwrites (invites, panel, topic,
// announcement) come first and the new lines last; the lines are keyed
// posts, so a retry after a failure repeats only idempotent calls and
// finds the lines already posted instead of posting them again.
func (c *channelSync) runSync(ctx context.Context, payload []byte) error {
	var p syncPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode sync payload: %w: %w", err, ErrJobCancel)
	}
	inc, err := c.incidents.GetIncident(ctx, p.IncidentID)
	if ErrorCode(err) == ENOTFOUND {
		return fmt.Errorf("sync: %w: %w", err, ErrJobCancel)
	} else if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if inc.ChannelID == "" {
		// The setup job has not created the channel yet; retry so the
		// lines are not lost.
		return RetryLater(time.Second, "%s has no channel yet", inc.Key())
	}
	if err := c.invite(ctx, inc, p.Invite); err != nil {
		return err
	}
	if err := c.render(ctx, inc); err != nil {
		return err
	}
	if err := c.say(ctx, inc, p); err != nil {
		return err
	}
	return c.mirror(ctx, inc, p.Notices)
}

// invite adds the people a change named to the channel.
func (c *channelSync) invite(ctx context.Context, inc *Incident, refs []string) error {
	if len(refs) == 0 {
		return nil
	}
	ids, _, err := c.people.ResolveUsers(ctx, refs)
	var unresolved *UnresolvedError
	if err != nil && !errors.As(err, &unresolved) {
		return fmt.Errorf("sync %s: resolve invitees: %w", inc.Key(), err)
	}
	// A lookup that failed keeps out only its own people: the others are
	// invited now, and the retry looks again (inviting someone already in
	// the channel is no error).
	if len(ids) > 0 {
		// Whom the chat refused it logs; the others are in.
		if _, err := InviteRefusals(c.rooms.Invite(ctx, inc.ChannelID, ids)); err != nil {
			return fmt.Errorf("sync %s: invite: %w", inc.Key(), err)
		}
	}
	if err != nil {
		return fmt.Errorf("sync %s: resolve invitees: %w", inc.Key(), err)
	}
	return nil
}

// say posts the notices, then the lines, in the incident's channel.
// Within a job every post is keyed (NoticePoster): a retry finds the ones
// already in the channel and posts only the rest, so any failure, a rate
// limit included, retries the job.
func (c *channelSync) say(ctx context.Context, inc *Incident, p syncPayload) error {
	for _, n := range p.Notices {
		if _, err := c.notices.Notify(ctx, inc.ChannelID, n); err != nil {
			return fmt.Errorf("sync %s: post: %w", inc.Key(), err)
		}
	}
	for _, line := range p.Lines {
		if _, err := c.notices.Post(ctx, inc.ChannelID, line); err != nil {
			return fmt.Errorf("sync %s: post: %w", inc.Key(), err)
		}
	}
	return nil
}

// mirror says the Mirror notices in the broadcast channel, under the
// announcement. The broadcast channel is shared by every incident, so
// Slack's limit of about a message a second per channel is met there
// first: a failure retries the job (after Slack's Retry-After), whose
// keyed posts find what the earlier attempt said in both channels.
func (c *channelSync) mirror(ctx context.Context, inc *Incident, notices []Notice) error {
	if inc.BroadcastTS == "" {
		return nil
	}
	for _, n := range notices {
		if !n.Mirror {
			continue
		}
		n.Broadcast, n.Drill = true, inc.Drill
		if _, err := c.notices.Notify(ctx, inc.BroadcastChannel, n); err != nil {
			return fmt.Errorf("sync %s: mirror to the broadcast channel: %w", inc.Key(), err)
		}
	}
	return nil
}

// render brings the panel, topic and announcement in line with the stored
// incident. Syncs of quick successive changes run concurrently, so an edit
// rendered from an older state can land last; reading the incident again
// after the edits and rendering once more when it moved on makes the last
// word always the newest state.
func (c *channelSync) render(ctx context.Context, inc *Incident) error {
	for range 3 {
		if inc.PanelTS != "" {
			if err := c.panels.UpdatePanel(ctx, inc); err != nil {
				return fmt.Errorf("sync %s: update panel: %w", inc.Key(), err)
			}
		}
		if err := c.rooms.SetTopic(ctx, inc.ChannelID, TopicNotice(inc)); err != nil {
			return fmt.Errorf("sync %s: set topic: %w", inc.Key(), err)
		}
		if inc.BroadcastTS != "" {
			if err := c.panels.UpdateAnnouncement(ctx, inc.BroadcastChannel, inc.BroadcastTS, inc); err != nil {
				return fmt.Errorf("sync %s: update announcement: %w", inc.Key(), err)
			}
		}
		now, err := c.incidents.GetIncident(ctx, inc.ID)
		if err != nil {
			return fmt.Errorf("sync %s: %w", inc.Key(), err)
		}
		if now.UpdatedAt.Equal(inc.UpdatedAt) {
			return nil
		}
		inc = now
	}
	return nil
}
