package gormstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// TestNumberStillTakenAfterEveryDrawIsNamed: a declare whose every draw
// found its number taken says which number, and that older replicas still
// number incidents, rather than blaming the channel.
func TestNumberStillTakenAfterEveryDrawIsNamed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, pgtest.MigratedDSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	s := New(db, incidenttest.NewClock(incidenttest.Epoch()))
	err = s.tx(ctx, func(tx *gorm.DB) error {
		var taken int64
		if err := tx.Raw(`SELECT nextval('incident_number_seq')`).Scan(&taken).Error; err != nil {
			return err
		}
		if err := tx.Exec(`INSERT INTO incidents (number, title, severity, status, declared_at, updated_at, commander, declared_by)
			VALUES (?, 'old replica', 2, 'declared', now(), now(), 'U1', 'U1')`, taken).Error; err != nil {
			return err
		}
		_, again, err := s.notInserted(tx, &incidentRow{}, numberDraws)
		require.False(t, again)
		require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
		require.Equal(t, fmt.Sprintf("INC-%d is already taken: replicas of an older firebreak, still running during an upgrade, number incidents their own way. Try again.", taken),
			incident.ErrorMessage(err))
		_, again, err = s.notInserted(tx, &incidentRow{}, numberDraws-1)
		require.True(t, again, "a draw left: draw again")
		return err
	})
	require.NoError(t, err)
}
