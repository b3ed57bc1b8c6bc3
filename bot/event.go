package bot

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/firebreakhq/firebreak/incident"
)

// envelope is the outer Events API payload; both transports deliver it.
type envelope struct {
	Type      string `json:"type"`
	Challenge string `json:"challenge"`
	TeamID    string `json:"team_id"`
	// MinuteRateLimited is, in an app_rate_limited envelope, the minute
	// (Unix time) from which events were not delivered.
	MinuteRateLimited int64  `json:"minute_rate_limited"`
	EventID           string `json:"event_id"`
	EventTime         int64  `json:"event_time"`
	Event             struct {
		Type string `json:"type"`
	} `json:"event"`
}

type eventJob struct {
	EventID  string          `json:"event_id"`
	Type     string          `json:"type"`
	Envelope json.RawMessage `json:"envelope"`
}

// Event accepts an Events API envelope. It answers url_verification with the
// challenge, and schedules an event_callback as a job keyed on its event_id,
// so Slack's retries of the same event are stored once. It returns the
// challenge (for url_verification) and whether the event was new.
func (h *Handler) Event(ctx context.Context, raw []byte) (challenge string, isNew bool, err error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		h.metrics.requests.WithLabelValues("event", "invalid").Inc()
		return "", false, incident.Errorf(incident.EINVALID, "The event is not valid JSON.")
	}
	switch env.Type {
	case "url_verification":
		h.metrics.requests.WithLabelValues("event", "url_verification").Inc()
		return env.Challenge, false, nil
	case "app_rate_limited":
		// Slack stopped delivering this workspace's events for the rest of
		// the hour (past 30,000 an hour): what happens in incident channels
		// meanwhile is missing from their timelines.
		h.metrics.requests.WithLabelValues("event", "app_rate_limited").Inc()
		h.log.WarnContext(ctx, "Slack is not delivering events (app_rate_limited): messages, pins and reactions from this minute on are missing from incident timelines until the hour is over",
			"type", env.Type, "team", env.TeamID, "minute_rate_limited", env.MinuteRateLimited)
		return "", false, nil
	case "event_callback":
	default:
		h.metrics.requests.WithLabelValues("event", "ignored").Inc()
		return "", false, nil
	}
	if env.EventID == "" || env.Event.Type == "" {
		h.metrics.requests.WithLabelValues("event", "invalid").Inc()
		return "", false, incident.Errorf(incident.EINVALID, "The event has no event_id or no inner event type.")
	}
	payload, err := json.Marshal(eventJob{EventID: env.EventID, Type: env.Event.Type, Envelope: raw})
	if err != nil {
		return "", false, fmt.Errorf("encode event job: %w", err)
	}
	// The same deadline as a command's: an event not stored in time is
	// answered with an error (HTTP) or left unacknowledged (Socket Mode)
	// before Slack's 3 seconds, and Slack delivers it again, rather than
	// Slack counting a timeout against the app's event subscriptions.
	ctx, cancel := context.WithTimeoutCause(ctx, h.cfg.AckDeadline, errStoreSlow)
	defer cancel()
	scheduled, err := h.cfg.Scheduler.Schedule(ctx, incident.Job{Kind: JobSlackEvent, Key: env.EventID, Payload: payload})
	if err != nil {
		h.metrics.requests.WithLabelValues("event", "error").Inc()
		return "", false, fmt.Errorf("schedule event %s: %w", env.EventID, err)
	}
	if !scheduled {
		h.metrics.events.WithLabelValues(env.Event.Type, "duplicate").Inc()
	}
	h.metrics.requests.WithLabelValues("event", "ok").Inc()
	return "", scheduled, nil
}

// runEventJob processes one event. Redeliveries never get here: the job's
// unique key (the event_id) already absorbed them, for as long as the job
// engine keeps finished jobs, which is far longer than Slack retries.
func (h *Handler) runEventJob(ctx context.Context, payload []byte) error {
	var job eventJob
	if err := json.Unmarshal(payload, &job); err != nil {
		return fmt.Errorf("decode event job: %w: %w", err, incident.ErrJobCancel)
	}
	fn, ok := h.events[job.Type]
	if !ok {
		h.metrics.events.WithLabelValues(job.Type, "ignored").Inc()
		return nil
	}
	if err := fn(ctx, job.Type, job.Envelope); err != nil {
		h.metrics.events.WithLabelValues(job.Type, "failed").Inc()
		return fmt.Errorf("handle %s event %s: %w", job.Type, job.EventID, err)
	}
	h.metrics.events.WithLabelValues(job.Type, "processed").Inc()
	return nil
}
