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

// ReleaseLease implements incident.LeaseStore.
func (s *leaseStore) ReleaseLease(ctx context.Context, key, holder string) error {
	err := s.one(ctx, func(db *gorm.DB) error {
		return db.Exec("DELETE FROM leases WHERE name = ? AND holder = ?", key, holder).Error
	})
	return translate("release lease", err, nil)
}

var _ incident.LeaseStore = (*Store)(nil)
