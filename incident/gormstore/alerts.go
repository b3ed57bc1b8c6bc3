package gormstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/firebreakhq/firebreak/incident"
)

// alertStore keeps monitoring alerts and what was decided about them.
type alertStore struct{ *handle }

const msgAlertMissing = "That alert was not found."

type alertRow struct {
	ID          int64      `gorm:"column:id;primaryKey"`
	Source      string     `gorm:"column:source"`
	Fingerprint string     `gorm:"column:fingerprint"`
	Status      string     `gorm:"column:status"`
	Title       string     `gorm:"column:title"`
	Summary     string     `gorm:"column:summary"`
	URL         string     `gorm:"column:url"`
	Labels      string     `gorm:"column:labels"`
	Rule        string     `gorm:"column:rule"`
	Service     string     `gorm:"column:service"`
	Severity    int16      `gorm:"column:severity"`
	State       string     `gorm:"column:state"`
	IncidentID  *int64     `gorm:"column:incident_id"`
	GroupID     int64      `gorm:"column:group_id"`
	ChannelID   string     `gorm:"column:channel_id"`
	MessageTS   string     `gorm:"column:message_ts"`
	DecidedBy   string     `gorm:"column:decided_by"`
	Count       int64      `gorm:"column:count"`
	StartsAt    *time.Time `gorm:"column:starts_at"`
	FirstAt     time.Time  `gorm:"column:first_at"`
	LastAt      time.Time  `gorm:"column:last_at"`
	ResolvedAt  *time.Time `gorm:"column:resolved_at"`
}

func (alertRow) TableName() string { return "alerts" }

func toAlertRow(a *incident.Alert) (alertRow, error) {
	labels, err := encodeMap(a.Labels)
	if err != nil {
		return alertRow{}, err
	}
	var incID *int64
	if a.IncidentID != 0 {
		v := a.IncidentID
		incID = &v
	}
	return alertRow{ID: a.ID, Source: a.Source, Fingerprint: a.Fingerprint, Status: string(a.Status), Title: a.Title,
		Summary: a.Summary, URL: a.URL, Labels: labels, Rule: a.Rule, Service: a.Service, Severity: int16(a.Severity),
		State: string(a.State), IncidentID: incID, GroupID: a.GroupID, ChannelID: a.ChannelID, MessageTS: a.MessageTS, DecidedBy: a.DecidedBy,
		Count: int64(a.Count), StartsAt: nullTime(a.StartsAt), FirstAt: dbTime(a.FirstAt), LastAt: dbTime(a.LastAt), ResolvedAt: dbTimePtr(a.ResolvedAt)}, nil
}

func (r *alertRow) toDomain() (incident.Alert, error) {
	labels, err := decodeMap(r.Labels)
	if err != nil {
		return incident.Alert{}, err
	}
	var incID int64
	if r.IncidentID != nil {
		incID = *r.IncidentID
	}
	return incident.Alert{ID: r.ID, Source: r.Source, Fingerprint: r.Fingerprint, Status: incident.AlertStatus(r.Status),
		Title: r.Title, Summary: r.Summary, URL: r.URL, Labels: labels, Rule: r.Rule, Service: r.Service,
		Severity: incident.Severity(r.Severity), State: incident.AlertState(r.State), IncidentID: incID, GroupID: r.GroupID, ChannelID: r.ChannelID,
		MessageTS: r.MessageTS, DecidedBy: r.DecidedBy, Count: int(r.Count), StartsAt: zeroTime(r.StartsAt), FirstAt: domainTime(r.FirstAt),
		LastAt: domainTime(r.LastAt), ResolvedAt: domainTimePtr(r.ResolvedAt)}, nil
}

func checkAlert(op string, a *incident.Alert) error {
	switch {
	case a.Source == "" || a.Fingerprint == "":
		return invalid(op, "An alert needs a source and a fingerprint.")
	case a.Status == "" || a.State == "":
		return invalid(op, "An alert needs a status and a state.")
	case !a.Severity.Valid():
		return invalid(op, "Unknown severity: use P1, P2, P3 or P4.")
	case a.Count < 0:
		return invalid(op, "An alert's count cannot be negative.")
	}
	return nil
}

// AddAlert implements incident.Store. A zero FirstAt or LastAt becomes the
// clock's now.
func (s *alertStore) AddAlert(ctx context.Context, a *incident.Alert) (*incident.Alert, error) {
	const op = "add alert"
	if a == nil {
		return nil, invalid(op, "No alert to add.")
	}
	in := *a
	if err := checkAlert(op, &in); err != nil {
		return nil, err
	}
	if in.FirstAt.IsZero() {
		in.FirstAt = s.now()
	}
	if in.LastAt.IsZero() {
		in.LastAt = in.FirstAt
	}
	row, err := toAlertRow(&in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	row.ID = 0
	// ON CONFLICT DO NOTHING keeps a failed insert from aborting a
	// Postgres transaction; a lost race reads the winner's row.
	var stored alertRow
	err = s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			stored = row
			return nil
		}
		if err := tx.Where("source = ? AND fingerprint = ?", in.Source, in.Fingerprint).Take(&stored).Error; err != nil {
			return err
		}
		return incident.Errorf(incident.ECONFLICT, "That alert is already stored.")
	})
	if err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
		return nil, translate(op, err, map[string]string{incident.ENOTFOUND: fmt.Sprintf("Incident %d was not found.", a.IncidentID)})
	}
	out, derr := stored.toDomain()
	if derr != nil {
		return nil, fmt.Errorf("%s: %w", op, derr)
	}
	if err != nil {
		return &out, fmt.Errorf("%s: %w", op, err)
	}
	return &out, nil
}

func (s *alertStore) alertWhere(ctx context.Context, op, where string, args ...any) (*incident.Alert, error) {
	var row alertRow
	err := s.one(ctx, func(tx *gorm.DB) error { return tx.Where(where, args...).Take(&row).Error })
	if err != nil {
		return nil, translate(op, err, map[string]string{incident.ENOTFOUND: msgAlertMissing})
	}
	a, err := row.toDomain()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return &a, nil
}

// GetAlert implements incident.Store.
func (s *alertStore) GetAlert(ctx context.Context, id int64) (*incident.Alert, error) {
	return s.alertWhere(ctx, "get alert", "id = ?", id)
}

// FindAlert implements incident.Store.
func (s *alertStore) FindAlert(ctx context.Context, source, fingerprint string) (*incident.Alert, error) {
	return s.alertWhere(ctx, "find alert", "source = ? AND fingerprint = ?", source, fingerprint)
}

// FindAlertGroup implements incident.Store. In a transaction it first
// writes the claim row of the rule and service (alert_group_claims): on
// PostgreSQL the upsert locks the row until the transaction ends, and a
// concurrent one, from any process, waits at its own upsert; on SQLite the
// write takes the database's write lock for the rest of the transaction.
// Either way the second transaction reads the groups after the first
// committed the alert it stored.
func (s *alertStore) FindAlertGroup(ctx context.Context, rule, service string, since time.Time) (*incident.Alert, error) {
	const op = "find alert group"
	var row alertRow
	err := s.one(ctx, func(tx *gorm.DB) error {
		if s.sqlTx != nil {
			if err := tx.Exec("INSERT INTO alert_group_claims (rule, service) VALUES (?, ?) "+
				"ON CONFLICT (rule, service) DO UPDATE SET rule = excluded.rule", rule, service).Error; err != nil {
				return err
			}
		}
		firing, from := string(incident.AlertFiring), dbTime(since)
		return tx.Where("rule = ? AND service = ? AND group_id = 0 AND state IN ?", rule, service,
			[]string{string(incident.AlertProposed), string(incident.AlertDeclared)}).
			Where(tx.Where("status = ? AND last_at >= ?", firing, from).
				Or("EXISTS (SELECT 1 FROM alerts m WHERE m.group_id = alerts.id AND m.group_id <> 0 AND m.status = ? AND m.last_at >= ?)", firing, from)).
			Order("id DESC").Take(&row).Error
	})
	if err != nil {
		return nil, translate(op, err, map[string]string{incident.ENOTFOUND: msgAlertMissing})
	}
	a, err := row.toDomain()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return &a, nil
}

// CountAlertGroup implements incident.Store.
func (s *alertStore) CountAlertGroup(ctx context.Context, leader int64) (incident.AlertGroupCount, error) {
	const op = "count alert group"
	var counts struct {
		Alerts int64
		Firing int64
	}
	err := s.one(ctx, func(tx *gorm.DB) error {
		return tx.Model(&alertRow{}).Select("COUNT(*) AS alerts, COALESCE(SUM(CASE WHEN status = ? THEN 1 ELSE 0 END), 0) AS firing",
			string(incident.AlertFiring)).Where("id = ? OR (group_id = ? AND group_id <> 0)", leader, leader).Scan(&counts).Error
	})
	if err != nil {
		return incident.AlertGroupCount{}, translate(op, err, nil)
	}
	if counts.Alerts == 0 {
		return incident.AlertGroupCount{}, notFound(op, msgAlertMissing)
	}
	return incident.AlertGroupCount{Alerts: int(counts.Alerts), Firing: int(counts.Firing)}, nil
}

// ListAlertGroup implements incident.Store.
func (s *alertStore) ListAlertGroup(ctx context.Context, leader int64) ([]incident.Alert, error) {
	const op = "list alert group"
	var rows []alertRow
	err := s.one(ctx, func(tx *gorm.DB) error {
		return tx.Where("id = ? OR (group_id = ? AND group_id <> 0)", leader, leader).Order("id ASC").Find(&rows).Error
	})
	if err != nil {
		return nil, translate(op, err, nil)
	}
	if len(rows) == 0 || rows[0].ID != leader {
		return nil, notFound(op, msgAlertMissing)
	}
	return domainRows(op, rows, (*alertRow).toDomain)
}

// UpdateAlert implements incident.Store. The row is locked for the update,
// so concurrent deliveries of one alert apply one after the other.
func (s *alertStore) UpdateAlert(ctx context.Context, id int64, fn func(*incident.Alert) error) (*incident.Alert, error) {
	const op = "update alert"
	var (
		fnErr  error
		result incident.Alert
	)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var row alertRow
		if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Where("id = ?", id).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return notFound(op, msgAlertMissing)
			}
			return err
		}
		a, err := row.toDomain()
		if err != nil {
			return err
		}
		if err := fn(&a); err != nil {
			fnErr = err
			return err
		}
		a.ID, a.Source, a.Fingerprint = row.ID, row.Source, row.Fingerprint
		if err := checkAlert(op, &a); err != nil {
			return err
		}
		updated, err := toAlertRow(&a)
		if err != nil {
			return err
		}
		if err := updateOne(tx, &updated, "id", "source", "fingerprint"); err != nil {
			return err
		}
		result, err = updated.toDomain()
		return err
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, translate(op, err, map[string]string{incident.ENOTFOUND: msgAlertMissing})
	}
	return &result, nil
}

// ListAlerts implements incident.Store.
func (s *alertStore) ListAlerts(ctx context.Context, incidentID int64) ([]incident.Alert, error) {
	const op = "list alerts"
	var rows []alertRow
	err := s.one(ctx, func(tx *gorm.DB) error {
		return tx.Where("incident_id = ?", incidentID).Order("first_at ASC, id ASC").Find(&rows).Error
	})
	if err != nil {
		return nil, translate(op, err, nil)
	}
	return domainRows(op, rows, (*alertRow).toDomain)
}
