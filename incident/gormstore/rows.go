package gormstore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/incidentbot/incidentbot/incident"
)

// Rows mirror the tables in migrations/*/00001_incidents.sql column for
// column; TestSchemaMatchesRows keeps the two in step. Every column is named
// explicitly so that gorm's naming rules never decide the schema, and no field
// is an auto-managed timestamp (autoCreateTime/autoUpdateTime off): times come
// from the injected clock.

type incidentRow struct {
	ID             int64      `gorm:"column:id;primaryKey"`
	Number         int64      `gorm:"column:number"`
	Title          string     `gorm:"column:title"`
	Description    string     `gorm:"column:description"`
	Severity       int16      `gorm:"column:severity"`
	Status         string     `gorm:"column:status"`
	Service        string     `gorm:"column:service"`
	Private        bool       `gorm:"column:private"`
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
	Data        string    `gorm:"column:data"`
}

func (changeEventRow) TableName() string { return "change_events" }

type deliveryRow struct {
	Source     string    `gorm:"column:source;primaryKey"`
	ID         string    `gorm:"column:id;primaryKey"`
	ReceivedAt time.Time `gorm:"column:received_at"`
}

func (deliveryRow) TableName() string { return "deliveries" }

// dbTime normalises a time for storage: UTC, truncated to the microsecond
// Postgres keeps, so what is read back equals what was written on both
// dialects.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func dbTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := dbTime(*t)
	return &v
}

// domainTime gives back times in UTC whatever zone the driver chose.
func domainTime(t time.Time) time.Time { return t.UTC() }

func domainTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// nullable stores "" as NULL, for columns under a unique rule where many rows
// may have none.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func encodeMap(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode map: %w", err)
	}
	return string(b), nil
}

// decodeMap returns nil for an empty object, matching a domain value that
// never had the map set.
func decodeMap(s string) (map[string]string, error) {
	var m map[string]string
	if s == "" {
		return nil, nil
	}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode map: %w", err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

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
		Status:         string(inc.Status),
		Service:        inc.Service,
		Private:        inc.Private,
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
		Status:           incident.Status(r.Status),
		Service:          r.Service,
		Private:          r.Private,
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
		DeclaredAt:       domainTime(r.DeclaredAt),
		AcknowledgedAt:   domainTimePtr(r.AcknowledgedAt),
		MitigatedAt:      domainTimePtr(r.MitigatedAt),
		ResolvedAt:       domainTimePtr(r.ResolvedAt),
		ClosedAt:         domainTimePtr(r.ClosedAt),
		UpdatedAt:        domainTime(r.UpdatedAt),
	}, nil
}

func toTimelineEventRow(ev *incident.TimelineEvent) (timelineEventRow, error) {
	data, err := encodeMap(ev.Data)
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
	data, err := decodeMap(r.Data)
	if err != nil {
		return incident.TimelineEvent{}, fmt.Errorf("timeline event %d data: %w", r.ID, err)
	}
	return incident.TimelineEvent{
		ID:         r.ID,
		IncidentID: r.IncidentID,
		Kind:       incident.EventKind(r.Kind),
		Actor:      r.Actor,
		At:         domainTime(r.At),
		Text:       r.Text,
		Key:        r.KeyEvent,
		SourceID:   deref(r.SourceID),
		Data:       data,
	}, nil
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
		Data:        data,
	}, nil
}
