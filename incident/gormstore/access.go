package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/firebreakhq/firebreak/incident"
)

// accessStore keeps the web sessions and API tokens.
type accessStore struct{ *handle }

var _ incident.AccessStore = (*Store)(nil)

type webSessionRow struct {
	ID        string    `gorm:"column:id;primaryKey"`
	UserID    string    `gorm:"column:user_id"`
	TeamID    string    `gorm:"column:team_id"`
	Name      string    `gorm:"column:name"`
	CSRFToken string    `gorm:"column:csrf_token"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
	ExpiresAt time.Time `gorm:"column:expires_at"`
}

func (webSessionRow) TableName() string { return "web_sessions" }

func (r *webSessionRow) toDomain() *incident.WebSession {
	return &incident.WebSession{ID: r.ID, UserID: r.UserID, TeamID: r.TeamID, Name: r.Name, CSRFToken: r.CSRFToken,
		CreatedAt: domainTime(r.CreatedAt), ExpiresAt: domainTime(r.ExpiresAt)}
}

type apiTokenRow struct {
	ID         int64      `gorm:"column:id;primaryKey"`
	Name       string     `gorm:"column:name"`
	Hash       string     `gorm:"column:hash"`
	Prefix     string     `gorm:"column:prefix"`
	Scope      string     `gorm:"column:scope"`
	ActAs      string     `gorm:"column:act_as"`
	CreatedBy  string     `gorm:"column:created_by"`
	CreatedAt  time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	LastUsedAt *time.Time `gorm:"column:last_used_at"`
	RevokedAt  *time.Time `gorm:"column:revoked_at"`
}

func (apiTokenRow) TableName() string { return "api_tokens" }

func (r *apiTokenRow) toDomain() *incident.APIToken {
	return &incident.APIToken{ID: r.ID, Name: r.Name, Hash: r.Hash, Prefix: r.Prefix, Scope: incident.TokenScope(r.Scope),
		ActAs: r.ActAs, CreatedBy: r.CreatedBy, CreatedAt: domainTime(r.CreatedAt),
		LastUsedAt: domainTimePtr(r.LastUsedAt), RevokedAt: domainTimePtr(r.RevokedAt)}
}

func checkSession(op string, s *incident.WebSession) error {
	switch {
	case len(s.ID) != 64:
		return invalid(op, "A session id is a 64-character hash.")
	case s.UserID == "" || s.TeamID == "":
		return invalid(op, "A session needs a user and a team.")
	case s.CSRFToken == "":
		return invalid(op, "A session needs a CSRF token.")
	case s.ExpiresAt.IsZero():
		return invalid(op, "A session needs an expiry.")
	}
	return nil
}

// CreateSession implements incident.AccessStore. A zero CreatedAt is set
// from the clock.
func (s *accessStore) CreateSession(ctx context.Context, sess *incident.WebSession) error {
	const op = "create session"
	if err := checkSession(op, sess); err != nil {
		return err
	}
	created := dbTime(sess.CreatedAt)
	if sess.CreatedAt.IsZero() {
		created = s.now()
	}
	row := webSessionRow{ID: sess.ID, UserID: sess.UserID, TeamID: sess.TeamID, Name: sess.Name, CSRFToken: sess.CSRFToken,
		CreatedAt: created, ExpiresAt: dbTime(sess.ExpiresAt)}
	if err := s.tx(ctx, func(tx *gorm.DB) error { return tx.Create(&row).Error }); err != nil {
		return translate(op, err, map[string]string{incident.ECONFLICT: "The session exists already."})
	}
	sess.CreatedAt = domainTime(created)
	return nil
}

// GetSession implements incident.AccessStore.
func (s *accessStore) GetSession(ctx context.Context, id string) (*incident.WebSession, error) {
	const op = "get session"
	var row webSessionRow
	err := s.one(ctx, func(tx *gorm.DB) error { return tx.Where("id = ?", id).Take(&row).Error })
	if err != nil {
		return nil, translate(op, err, map[string]string{incident.ENOTFOUND: "The session was not found."})
	}
	return row.toDomain(), nil
}

// DeleteSession implements incident.AccessStore.
func (s *accessStore) DeleteSession(ctx context.Context, id string) error {
	const op = "delete session"
	err := s.tx(ctx, func(tx *gorm.DB) error { return tx.Where("id = ?", id).Delete(&webSessionRow{}).Error })
	return translate(op, err, nil)
}

// PurgeSessions implements incident.AccessStore.
func (s *accessStore) PurgeSessions(ctx context.Context, before time.Time) (int64, error) {
	const op = "purge sessions"
	var n int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("expires_at < ?", dbTime(before)).Delete(&webSessionRow{})
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, translate(op, err, nil)
	}
	return n, nil
}

// CreateAPIToken implements incident.AccessStore. A zero CreatedAt is set
// from the clock.
func (s *accessStore) CreateAPIToken(ctx context.Context, t *incident.APIToken) error {
	const op = "create API token"
	switch {
	case t.Name == "":
		return invalid(op, "A token needs a name.")
	case len(t.Hash) != 64:
		return invalid(op, "A token hash is 64 hex characters.")
	case !t.Scope.Valid():
		return invalid(op, "Unknown scope %q: use read or write.", t.Scope)
	case t.ActAs == "":
		return invalid(op, "A token acts for a Slack user.")
	}
	created := dbTime(t.CreatedAt)
	if t.CreatedAt.IsZero() {
		created = s.now()
	}
	row := apiTokenRow{Name: t.Name, Hash: t.Hash, Prefix: t.Prefix, Scope: string(t.Scope), ActAs: t.ActAs,
		CreatedBy: t.CreatedBy, CreatedAt: created, LastUsedAt: dbTimePtr(t.LastUsedAt), RevokedAt: dbTimePtr(t.RevokedAt)}
	if err := s.tx(ctx, func(tx *gorm.DB) error { return tx.Create(&row).Error }); err != nil {
		return translate(op, err, map[string]string{incident.ECONFLICT: "A token with this secret exists already."})
	}
	t.ID, t.CreatedAt = row.ID, domainTime(created)
	return nil
}

// GetAPITokenByHash implements incident.AccessStore.
func (s *accessStore) GetAPITokenByHash(ctx context.Context, hash string) (*incident.APIToken, error) {
	const op = "get API token"
	var row apiTokenRow
	err := s.one(ctx, func(tx *gorm.DB) error { return tx.Where("hash = ?", hash).Take(&row).Error })
	if err != nil {
		return nil, translate(op, err, map[string]string{incident.ENOTFOUND: "The token was not found."})
	}
	return row.toDomain(), nil
}

// ListAPITokens implements incident.AccessStore.
func (s *accessStore) ListAPITokens(ctx context.Context) ([]incident.APIToken, error) {
	const op = "list API tokens"
	var rows []apiTokenRow
	err := s.one(ctx, func(tx *gorm.DB) error { return tx.Order("created_at DESC, id DESC").Find(&rows).Error })
	if err != nil {
		return nil, translate(op, err, nil)
	}
	out := make([]incident.APIToken, 0, len(rows))
	for i := range rows {
		out = append(out, *rows[i].toDomain())
	}
	return out, nil
}

// RevokeAPIToken implements incident.AccessStore.
func (s *accessStore) RevokeAPIToken(ctx context.Context, id int64, at time.Time) (*incident.APIToken, error) {
	const op = "revoke API token"
	var row apiTokenRow
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Where("id = ?", id).Take(&row).Error; err != nil {
			return err
		}
		if row.RevokedAt != nil {
			return nil
		}
		t := dbTime(at)
		row.RevokedAt = &t
		return tx.Model(&apiTokenRow{}).Where("id = ?", id).Update("revoked_at", t).Error
	})
	if err != nil {
		return nil, translate(op, err, map[string]string{incident.ENOTFOUND: "The token was not found."})
	}
	return row.toDomain(), nil
}

// TouchAPIToken implements incident.AccessStore. ENOTFOUND when unknown.
func (s *accessStore) TouchAPIToken(ctx context.Context, id int64, at time.Time) error {
	const op = "touch API token"
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&apiTokenRow{}).Where("id = ?", id).Update("last_used_at", dbTime(at))
		if res.Error == nil && res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return res.Error
	})
	return translate(op, err, map[string]string{incident.ENOTFOUND: "The token was not found."})
}
