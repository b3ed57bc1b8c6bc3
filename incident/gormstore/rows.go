package gormstore

import (
	"fmt"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// Rows mirror the tables in migrations/*/ column for column; TestSchemaMatchesRows keeps the two in step. Every column is named
// explicitly so that gorm's naming rules never decide the schema, and no field
// is an auto-managed timestamp (autoCreateTime/autoUpdateTime off): times come
// from the injected clock.

type incidentRow struct {
	ID             int64      `gorm:"column:id;primaryKey"`
	Number         int64      `gorm:"column:number;default:nextval('incident_number_seq')"` // PostgreSQL's default; SQLite's is always set
	Title          string     `gorm:"column:title"`
	Description    string     `gorm:"column:description"`
	Severity       int16      `gorm:"column:severity"`
	PeakSeverity   int16      `gorm:"column:peak_severity"`
	Status         string     `gorm:"column:status"`
	Service        string     `gorm:"column:service"`
	Private        bool       `gorm:"column:private"`
	Drill          bool       `gorm:"column:drill"`
	DeclareKey     *string    `gorm:"column:declare_key"`
	DeclaredBy     string     `gorm:"column:declared_by"`
	Commander      string     `gorm:"column:commander"`
	Roles          string     `gorm:"column:roles"`
	ChannelID      *string    `gorm:"column:channel_id"`
	ChannelName    string     `gorm:"column:channel_name"`
	PanelTS        string     `gorm:"column:panel_ts"`
	BroadcastChan  string     `gorm:"column:broadcast_channel"`
	BroadcastTS    string     `gorm:"column:broadcast_ts"`
	Summary        string     `gorm:"column:summary"`
	PublicProvider string     `gorm:"column:public_provider"`
	PublicID       string     `gorm:"column:public_id"`
	PublicURL      string     `gorm:"column:public_url"`
	LastUpdateAt   *time.Time `gorm:"column:last_update_at"`
	NagCount       int64      `gorm:"column:nag_count"`
	SnoozedUntil   *time.Time `gorm:"column:snoozed_until"`
	DeclaredAt     time.Time  `gorm:"column:declared_at"`
	AcknowledgedAt *time.Time `gorm:"column:acknowledged_at"`
	MitigatedAt    *time.Time `gorm:"column:mitigated_at"`
	ResolvedAt     *time.Time `gorm:"column:resolved_at"`
	ClosedAt       *time.Time `gorm:"column:closed_at"`
	UpdatedAt      time.Time  `gorm:"column:updated_at;autoUpdateTime:false;autoCreateTime:false"`
}

func (incidentRow) TableName() string { return "incidents" }

type timelineEventRow struct {
	ID         int64     `gorm:"column:id;primaryKey"`
	IncidentID int64     `gorm:"column:incident_id"`
	Kind       string    `gorm:"column:kind"`
	Actor      string    `gorm:"column:actor"`
	At         time.Time `gorm:"column:at"`
	Text       string    `gorm:"column:text"`
	KeyEvent   bool      `gorm:"column:key_event"`
	SourceID   *string   `gorm:"column:source_id"`
	Data       string    `gorm:"column:data"`
}

func (timelineEventRow) TableName() string { return "timeline_events" }

type statusUpdateRow struct {
	ID             int64     `gorm:"column:id;primaryKey"`
	IncidentID     int64     `gorm:"column:incident_id"`
	Author         string    `gorm:"column:author"`
	Status         string    `gorm:"column:status"`
	Text           string    `gorm:"column:text"`
	NextUpdateInNS int64     `gorm:"column:next_update_in_ns"`
	PostedAt       time.Time `gorm:"column:posted_at"`
}

func (statusUpdateRow) TableName() string { return "status_updates" }

type actionItemRow struct {
	ID          int64      `gorm:"column:id;primaryKey"`
	IncidentID  int64      `gorm:"column:incident_id"`
	Text        string     `gorm:"column:text"`
	Owner       string     `gorm:"column:owner"`
	DueOn       *time.Time `gorm:"column:due_on"`
	Done        bool       `gorm:"column:done"`
	CreatedBy   string     `gorm:"column:created_by"`
	CreatedAt   time.Time  `gorm:"column:created_at;autoCreateTime:false;autoUpdateTime:false"`
	ExternalURL string     `gorm:"column:external_url"`
}

func (actionItemRow) TableName() string { return "action_items" }

type changeEventRow struct {
	ID          int64     `gorm:"column:id;primaryKey"`
	Source      string    `gorm:"column:source"`
	ExternalID  string    `gorm:"column:external_id"`
	Kind        string    `gorm:"column:kind"`
	Service     string    `gorm:"column:service"`
	Summary     string    `gorm:"column:summary"`
	Actor       string    `gorm:"column:actor"`
	URL         string    `gorm:"column:url"`
	Environment string    `gorm:"column:environment"`
	Ref         string    `gorm:"column:ref"`
	OccurredAt  time.Time `gorm:"column:occurred_at"`
	Revision    int64     `gorm:"column:revision"`
	Data        string    `gorm:"column:data"`
}

func (changeEventRow) TableName() string { return "change_events" }

type deliveryRow struct {
	Source     string    `gorm:"column:source;primaryKey"`
	ID         string    `gorm:"column:id;primaryKey"`
	ReceivedAt time.Time `gorm:"column:received_at"`
}

func (deliveryRow) TableName() string { return "deliveries" }

type replayBatchRow struct {
	ID         int64     `gorm:"column:id;primaryKey"`
	Instance   string    `gorm:"column:instance"`
	RecordedAt time.Time `gorm:"column:recorded_at"`
	Keys       string    `gorm:"column:keys"` // one per line
}

func (replayBatchRow) TableName() string { return "replay_batches" }

type pageRow struct {
	ID             int64      `gorm:"column:id;primaryKey"`
	IncidentID     int64      `gorm:"column:incident_id"`
	Provider       string     `gorm:"column:provider"`
	ExternalID     string     `gorm:"column:external_id"`
	DedupKey       *string    `gorm:"column:dedup_key"`
	Service        string     `gorm:"column:service"`
	URL            string     `gorm:"column:url"`
	Status         string     `gorm:"column:status"`
	Assignees      string     `gorm:"column:assignees"`
	CreatedAt      time.Time  `gorm:"column:created_at;autoCreateTime:false;autoUpdateTime:false"`
	AcknowledgedAt *time.Time `gorm:"column:acknowledged_at"`
	AcknowledgedBy string     `gorm:"column:acknowledged_by"`
	ResolvedAt     *time.Time `gorm:"column:resolved_at"`
	StatusAt       *time.Time `gorm:"column:status_at"`
	Retriggers     int64      `gorm:"column:retriggers"`
}

func (pageRow) TableName() string { return "pages" }

type rollbackRow struct {
	ID          int64     `gorm:"column:id;primaryKey"`
	IncidentID  int64     `gorm:"column:incident_id"`
	Key         string    `gorm:"column:key"`
	Plan        string    `gorm:"column:plan"`
	Status      string    `gorm:"column:status"`
	RequestedBy string    `gorm:"column:requested_by"`
	ApprovedBy  string    `gorm:"column:approved_by"`
	ExternalID  string    `gorm:"column:external_id"`
	URL         string    `gorm:"column:url"`
	Detail      string    `gorm:"column:detail"`
	CreatedAt   time.Time `gorm:"column:created_at;autoCreateTime:false;autoUpdateTime:false"`
	UpdatedAt   time.Time `gorm:"column:updated_at;autoCreateTime:false;autoUpdateTime:false"`
}

func (rollbackRow) TableName() string { return "rollbacks" }

type exportRow struct {
	IncidentID int64     `gorm:"column:incident_id;primaryKey;autoIncrement:false"`
	Target     string    `gorm:"column:target;primaryKey"`
	ExternalID string    `gorm:"column:external_id"`
	URL        string    `gorm:"column:url"`
	Version    int64     `gorm:"column:version"`
	Digest     string    `gorm:"column:digest"`
	Pending    string    `gorm:"column:pending"`
	ExportedAt time.Time `gorm:"column:exported_at"`
}

func (exportRow) TableName() string { return "exports" }

func toIncidentRow(inc *incident.Incident) (incidentRow, error) {
	roles, err := encodeMap(inc.Roles)
	if err != nil {
		return incidentRow{}, fmt.Errorf("roles: %w", err)
	}
	return incidentRow{
		ID:             inc.ID,
		Number:         inc.Number,
		Title:          inc.Title,
		Description:    inc.Description,
		Severity:       int16(inc.Severity),
		PeakSeverity:   int16(inc.PeakSeverity),
		Status:         string(inc.Status),
		Service:        inc.Service,
		Private:        inc.Private,
		Drill:          inc.Drill,
		DeclareKey:     nullable(inc.DeclareKey),
		DeclaredBy:     inc.DeclaredBy,
		Commander:      inc.Commander,
		Roles:          roles,
		ChannelID:      nullable(inc.ChannelID),
		ChannelName:    inc.ChannelName,
		PanelTS:        inc.PanelTS,
		BroadcastChan:  inc.BroadcastChannel,
		BroadcastTS:    inc.BroadcastTS,
		Summary:        inc.Summary,
		PublicProvider: inc.PublicProvider,
		PublicID:       inc.PublicID,
		PublicURL:      inc.PublicURL,
		LastUpdateAt:   dbTimePtr(inc.LastUpdateAt),
		NagCount:       int64(inc.NagCount),
		SnoozedUntil:   dbTimePtr(inc.SnoozedUntil),
		DeclaredAt:     dbTime(inc.DeclaredAt),
		AcknowledgedAt: dbTimePtr(inc.AcknowledgedAt),
		MitigatedAt:    dbTimePtr(inc.MitigatedAt),
		ResolvedAt:     dbTimePtr(inc.ResolvedAt),
		ClosedAt:       dbTimePtr(inc.ClosedAt),
		UpdatedAt:      dbTime(inc.UpdatedAt),
	}, nil
}

func (r *incidentRow) toDomain() (*incident.Incident, error) {
	roles, err := decodeMap(r.Roles)
	if err != nil {
		return nil, fmt.Errorf("incident %d roles: %w", r.ID, err)
	}
	return &incident.Incident{
		ID:               r.ID,
		Number:           r.Number,
		Title:            r.Title,
		Description:      r.Description,
		Severity:         incident.Severity(r.Severity),
		PeakSeverity:     incident.Severity(r.PeakSeverity),
		Status:           incident.Status(r.Status),
		Service:          r.Service,
		Private:          r.Private,
		Drill:            r.Drill,
		DeclareKey:       deref(r.DeclareKey),
		DeclaredBy:       r.DeclaredBy,
		Commander:        r.Commander,
		Roles:            roles,
		ChannelID:        deref(r.ChannelID),
		ChannelName:      r.ChannelName,
		PanelTS:          r.PanelTS,
		BroadcastChannel: r.BroadcastChan,
		BroadcastTS:      r.BroadcastTS,
		Summary:          r.Summary,
		PublicProvider:   r.PublicProvider,
		PublicID:         r.PublicID,
		PublicURL:        r.PublicURL,
		LastUpdateAt:     domainTimePtr(r.LastUpdateAt),
		NagCount:         int(r.NagCount),
		SnoozedUntil:     domainTimePtr(r.SnoozedUntil),
		DeclaredAt:       domainTime(r.DeclaredAt),
		AcknowledgedAt:   domainTimePtr(r.AcknowledgedAt),
		MitigatedAt:      domainTimePtr(r.MitigatedAt),
		ResolvedAt:       domainTimePtr(r.ResolvedAt),
		ClosedAt:         domainTimePtr(r.ClosedAt),
		UpdatedAt:        domainTime(r.UpdatedAt),
	}, nil
}

func toTimelineEventRow(ev *incident.TimelineEvent) (timelineEventRow, error) {
	data, err := incident.EncodeEventData(ev)
	if err != nil {
		return timelineEventRow{}, fmt.Errorf("event data: %w", err)
	}
	return timelineEventRow{
		ID:         ev.ID,
		IncidentID: ev.IncidentID,
		Kind:       string(ev.Kind),
		Actor:      ev.Actor,
		At:         dbTime(ev.At),
		Text:       ev.Text,
		KeyEvent:   ev.Key,
		SourceID:   nullable(ev.SourceID),
		Data:       data,
	}, nil
}

func (r *timelineEventRow) toDomain() (incident.TimelineEvent, error) {
	ev := incident.TimelineEvent{
		ID:         r.ID,
		IncidentID: r.IncidentID,
		Kind:       incident.EventKind(r.Kind),
		Actor:      r.Actor,
		At:         domainTime(r.At),
		Text:       r.Text,
		Key:        r.KeyEvent,
		SourceID:   deref(r.SourceID),
	}
	if err := incident.DecodeEventData(&ev, r.Data); err != nil {
		return incident.TimelineEvent{}, fmt.Errorf("timeline event %d data: %w", r.ID, err)
	}
	return ev, nil
}

func toStatusUpdateRow(u *incident.StatusUpdate) statusUpdateRow {
	return statusUpdateRow{
		ID:             u.ID,
		IncidentID:     u.IncidentID,
		Author:         u.Author,
		Status:         string(u.Status),
		Text:           u.Text,
		NextUpdateInNS: int64(u.NextUpdateIn),
		PostedAt:       dbTime(u.PostedAt),
	}
}

func (r *statusUpdateRow) toDomain() incident.StatusUpdate {
	return incident.StatusUpdate{
		ID:           r.ID,
		IncidentID:   r.IncidentID,
		Author:       r.Author,
		Status:       incident.Status(r.Status),
		Text:         r.Text,
		NextUpdateIn: time.Duration(r.NextUpdateInNS),
		PostedAt:     domainTime(r.PostedAt),
	}
}

func toActionItemRow(a *incident.ActionItem) actionItemRow {
	return actionItemRow{
		ID:          a.ID,
		IncidentID:  a.IncidentID,
		Text:        a.Text,
		Owner:       a.Owner,
		DueOn:       dbTimePtr(a.DueOn),
		Done:        a.Done,
		CreatedBy:   a.CreatedBy,
		CreatedAt:   dbTime(a.CreatedAt),
		ExternalURL: a.ExternalURL,
	}
}

func (r *actionItemRow) toDomain() incident.ActionItem {
	return incident.ActionItem{
		ID:          r.ID,
		IncidentID:  r.IncidentID,
		Text:        r.Text,
		Owner:       r.Owner,
		DueOn:       domainTimePtr(r.DueOn),
		Done:        r.Done,
		CreatedBy:   r.CreatedBy,
		CreatedAt:   domainTime(r.CreatedAt),
		ExternalURL: r.ExternalURL,
	}
}

func toChangeEventRow(c *incident.ChangeEvent) (changeEventRow, error) {
	data, err := encodeMap(c.Data)
	if err != nil {
		return changeEventRow{}, fmt.Errorf("change data: %w", err)
	}
	return changeEventRow{
		ID:          c.ID,
		Source:      c.Source,
		ExternalID:  c.ExternalID,
		Kind:        string(c.Kind),
		Service:     c.Service,
		Summary:     c.Summary,
		Actor:       c.Actor,
		URL:         c.URL,
		Environment: c.Environment,
		Ref:         c.Ref,
		OccurredAt:  dbTime(c.OccurredAt),
		Revision:    c.Revision,
		Data:        data,
	}, nil
}

func (r *changeEventRow) toDomain() (incident.ChangeEvent, error) {
	data, err := decodeMap(r.Data)
	if err != nil {
		return incident.ChangeEvent{}, fmt.Errorf("change event %d data: %w", r.ID, err)
	}
	return incident.ChangeEvent{
		ID:          r.ID,
		Source:      r.Source,
		ExternalID:  r.ExternalID,
		Kind:        incident.ChangeKind(r.Kind),
		Service:     r.Service,
		Summary:     r.Summary,
		Actor:       r.Actor,
		URL:         r.URL,
		Environment: r.Environment,
		Ref:         r.Ref,
		OccurredAt:  domainTime(r.OccurredAt),
		Revision:    r.Revision,
		Data:        data,
	}, nil
}

func toPageRow(p *incident.Page) (pageRow, error) {
	assignees, err := encodeList(p.Assignees)
	if err != nil {
		return pageRow{}, fmt.Errorf("assignees: %w", err)
	}
	return pageRow{
		ID:             p.ID,
		IncidentID:     p.IncidentID,
		Provider:       p.Provider,
		ExternalID:     p.ExternalID,
		DedupKey:       nullable(p.DedupKey),
		Service:        p.Service,
		URL:            p.URL,
		Status:         p.Status,
		Assignees:      assignees,
		CreatedAt:      dbTime(p.CreatedAt),
		AcknowledgedAt: dbTimePtr(p.AcknowledgedAt),
		AcknowledgedBy: p.AcknowledgedBy,
		ResolvedAt:     dbTimePtr(p.ResolvedAt),
		StatusAt:       dbTimePtr(p.StatusAt),
		Retriggers:     int64(p.Retriggers),
	}, nil
}

func (r *pageRow) toDomain() (incident.Page, error) {
	assignees, err := decodeList(r.Assignees)
	if err != nil {
		return incident.Page{}, fmt.Errorf("page %d assignees: %w", r.ID, err)
	}
	return incident.Page{
		ID:             r.ID,
		IncidentID:     r.IncidentID,
		Provider:       r.Provider,
		ExternalID:     r.ExternalID,
		DedupKey:       deref(r.DedupKey),
		Service:        r.Service,
		URL:            r.URL,
		Status:         r.Status,
		Assignees:      assignees,
		CreatedAt:      domainTime(r.CreatedAt),
		AcknowledgedAt: domainTimePtr(r.AcknowledgedAt),
		AcknowledgedBy: r.AcknowledgedBy,
		ResolvedAt:     domainTimePtr(r.ResolvedAt),
		StatusAt:       domainTimePtr(r.StatusAt),
		Retriggers:     int(r.Retriggers),
	}, nil
}

func toRollbackRow(rb *incident.Rollback) (rollbackRow, error) {
	plan, err := encodePlan(rb.Plan)
	if err != nil {
		return rollbackRow{}, err
	}
	return rollbackRow{
		ID:          rb.ID,
		IncidentID:  rb.IncidentID,
		Key:         rb.Key,
		Plan:        plan,
		Status:      string(rb.Status),
		RequestedBy: rb.RequestedBy,
		ApprovedBy:  rb.ApprovedBy,
		ExternalID:  rb.ExternalID,
		URL:         rb.URL,
		Detail:      rb.Detail,
		CreatedAt:   dbTime(rb.CreatedAt),
		UpdatedAt:   dbTime(rb.UpdatedAt),
	}, nil
}

func (r *rollbackRow) toDomain() (*incident.Rollback, error) {
	plan, err := decodePlan(r.Plan)
	if err != nil {
		return nil, fmt.Errorf("rollback %d: %w", r.ID, err)
	}
	return &incident.Rollback{
		ID:          r.ID,
		IncidentID:  r.IncidentID,
		Key:         r.Key,
		Plan:        plan,
		Status:      incident.RollbackStatus(r.Status),
		RequestedBy: r.RequestedBy,
		ApprovedBy:  r.ApprovedBy,
		ExternalID:  r.ExternalID,
		URL:         r.URL,
		Detail:      r.Detail,
		CreatedAt:   domainTime(r.CreatedAt),
		UpdatedAt:   domainTime(r.UpdatedAt),
	}, nil
}

func (r *exportRow) toDomain() *incident.ExportRef {
	return &incident.ExportRef{
		Target:  r.Target,
		ID:      r.ExternalID,
		URL:     r.URL,
		Version: int(r.Version),
		Digest:  r.Digest,
		Pending: r.Pending,
	}
}
