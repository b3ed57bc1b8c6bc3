package bot

import (
	"context"
	"time"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
)

// The transport depends on these small interfaces, one per feature, rather
// than on the domain's concrete services. Each lists only the calls the
// transport makes.

// IncidentService declares, finds and changes incidents: the core.
type IncidentService interface {
	Declare(ctx context.Context, in incident.DeclareInput) (*incident.Incident, bool, error)
	Get(ctx context.Context, id int64) (*incident.Incident, error)
	ByChannel(ctx context.Context, channelID string) (*incident.Incident, error)
	ListFor(ctx context.Context, user string) ([]*incident.Incident, error)
	CanSee(ctx context.Context, user string, inc *incident.Incident) (bool, error)
	Authorize(ctx context.Context, req incident.Request) (incident.Decision, error)
	Policy() incident.Policy
	AssignRole(ctx context.Context, id int64, role, user, actor string, opts ...incident.AssignOption) (*incident.Incident, error)
	ConfirmTakeIC(ctx context.Context, id int64, actor string) (*incident.Incident, error)
	SetSeverity(ctx context.Context, id int64, sev incident.Severity, actor string) (*incident.Incident, error)
	SetStatus(ctx context.Context, id int64, to incident.Status, actor, summary string) (*incident.Incident, error)
	Resolve(ctx context.Context, id int64, actor, summary string, check incident.ResolutionCheck) (*incident.Incident, error)
}

// UpdateService posts status updates and snoozes their reminders.
type UpdateService interface {
	PostUpdate(ctx context.Context, id int64, in incident.UpdateInput) (*incident.Incident, error)
	Snooze(ctx context.Context, id int64, actor string) (*incident.Incident, error)
}

// StatusPageService publishes to the public status page.
type StatusPageService interface {
	// EditText is the text an edit form starts from (comms.PublishShown of
	// its button, or "" for the draft).
	EditText(ctx context.Context, id int64, kind, ref, shown string) (string, error)
	Publish(ctx context.Context, id int64, in comms.PublishInput) (bool, error)
	// CheckPublish refuses, before the edit form opens, what Publish would.
	CheckPublish(ctx context.Context, id int64, in comms.PublishInput) error
	RetryStatusPage(ctx context.Context, value, actor string) error
}

// CommsService keeps the communication clock: the comms drafts and the
// comms lead's decisions.
type CommsService interface {
	Comms(ctx context.Context, id int64) ([]comms.Draft, error)
	CustomerEmail(ctx context.Context, id int64, sent bool, actor string) (*incident.Incident, error)
	Decline(ctx context.Context, id int64, actor string) (*incident.Incident, error)
	FlagDataConcern(ctx context.Context, id int64, actor string) (*incident.Incident, error)
}

// PagingService pages responders and answers who is on call
// (*paging.Service, of incident/paging).
type PagingService interface {
	Page(ctx context.Context, id int64, service, actor string) (*incident.Incident, error)
	PageIncident(ctx context.Context, pageKey string) (*incident.Incident, error)
	RetryPage(ctx context.Context, value, actor string) error
	RetryPageIncident(ctx context.Context, value string) (*incident.Incident, error)
	AcknowledgePage(ctx context.Context, pageKey string, user string, reply incident.ReplyTarget) error
	OnCall(ctx context.Context, service string, reply incident.ReplyTarget) error
}

// ChangeService lists recent changes.
type ChangeService interface {
	WhatChanged(ctx context.Context, id int64, window time.Duration, actor string, reply incident.ReplyTarget) error
}

// RollbackService rolls listed changes back.
type RollbackService interface {
	PlanRollback(ctx context.Context, id int64, value, actor string) (incident.RollbackPlan, error)
	RequestRollback(ctx context.Context, id int64, value, actor string) (*incident.Rollback, error)
	ApproveRollback(ctx context.Context, key, actor string) (*incident.Rollback, error)
	RetryRollback(ctx context.Context, key, actor string) (*incident.Rollback, error)
	RollbackIncident(ctx context.Context, key string) (*incident.Incident, error)
	RollbackRule(ctx context.Context, inc *incident.Incident, plan incident.RollbackPlan) incident.Notice
}

// CaptureService records the incident channel's messages, reactions, pins,
// notes and follow-ups on the timeline.
type CaptureService interface {
	CaptureMessage(ctx context.Context, m incident.CapturedMessage) error
	CaptureMark(ctx context.Context, m incident.KeyMark) error
	AddNote(ctx context.Context, id int64, actor, text string) error
	AddFollowUp(ctx context.Context, id int64, actor, text, owner string, due *time.Time) (*incident.ActionItem, error)
}

// FollowThroughService lists follow-ups and keeps the post-incident review.
type FollowThroughService interface {
	Followups(ctx context.Context, f incident.FollowUpFilter) ([]incident.FollowUp, error)
	Review(ctx context.Context, id int64) (*incident.Review, error)
	SetReviewState(ctx context.Context, id int64, state incident.ReviewState, actor string) (*incident.Review, error)
}

// AlertService turns proposed alerts into incidents or dismisses them.
type AlertService interface {
	GetAlert(ctx context.Context, id int64) (*incident.Alert, error)
	DismissAlert(ctx context.Context, alertID int64, actor string) (*incident.Alert, error)
	DeclareFromAlert(ctx context.Context, alertID int64, actor string, reply incident.ReplyTarget) (*incident.Incident, error)
}

// missingFeatures names the feature services left nil while Incidents is
// set; the incident commands need them all.
func (c Config) missingFeatures() []string {
	var missing []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"Updates", c.Updates != nil}, {"StatusPage", c.StatusPage != nil}, {"Comms", c.Comms != nil}, {"Paging", c.Paging != nil},
		{"Changes", c.Changes != nil}, {"Rollbacks", c.Rollbacks != nil}, {"Capture", c.Capture != nil}, {"FollowThrough", c.FollowThrough != nil},
		{"Alerts", c.Alerts != nil},
	} {
		if !f.set {
			missing = append(missing, f.name)
		}
	}
	return missing
}
