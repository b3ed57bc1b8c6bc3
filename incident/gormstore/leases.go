package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/firebreakhq/firebreak/incident"
)

// leaseStore hands out leases (table leases).
type leaseStore struct{ *handle }

// acquireLease takes the row when it is missing, its time is up, or it is
// the holder's already; the WHERE of DO UPDATE makes the statement change no
// row while another holder's lease runs. Both dialects read the row as the
// last commit left it, so two replicas racing for it never both win.
const acquireLease = `INSERT INTO leases (name, holder, expires_at_ms) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at_ms = excluded.expires_at_ms
WHERE leases.expires_at_ms <= ? OR leases.holder = excluded.holder`

// AcquireLease implements incident.LeaseStore.
func (s *leaseStore) AcquireLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	const op = "acquire lease"
	if key == "" || holder == "" || ttl < time.Millisecond {
		return false, invalid(op, "A lease needs a key, a holder and a duration of a millisecond or more.")
	}
	now := s.clock.Now().UnixMilli()
	var taken int64
	err := s.one(ctx, func(db *gorm.DB) error {
		res := db.Exec(acquireLease, key, holder, now+ttl.Milliseconds(), now)
		taken = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return false, translate(op, err, nil)
	}
	return taken == 1, nil
}

// releaseLease deletes the holder's lease and every lease whose time is up.
// On PostgreSQL a lease taken over in the meantime is read again and, its
// time no longer up, kept.
const releaseLease = `DELETE FROM leases WHERE (name = ? AND holder = ?) OR expires_at_ms <= ?`

// ReleaseLease implements incident.LeaseStore.
func (s *leaseStore) ReleaseLease(ctx context.Context, key, holder string) error {
	now := s.clock.Now().UnixMilli()
	err := s.one(ctx, func(db *gorm.DB) error {
		return db.Exec(releaseLease, key, holder, now).Error
	})
	return translate("release lease", err, nil)
}

// LeaseNames lists the leases on record by name, held or ended and not yet
// deleted.
func (s *leaseStore) LeaseNames(ctx context.Context) ([]string, error) {
	var names []string
	err := s.one(ctx, func(db *gorm.DB) error {
		return db.Raw("SELECT name FROM leases ORDER BY name").Scan(&names).Error
	})
	if err != nil {
		return nil, translate("list leases", err, nil)
	}
	return names, nil
}

var _ incident.LeaseStore = (*Store)(nil)
