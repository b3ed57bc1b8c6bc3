package gormstore

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/firebreakhq/firebreak/incident"
)

// installationStore keeps the id of this installation of the bot (table
// installation, one row).
type installationStore struct{ *handle }

// InstallationID returns the id of this installation of the bot: a random
// id made the first time it is asked for and kept in the database, the
// same for every replica on it, and another for another database (another
// installation, or the same bot on a database made anew). Two replicas
// asking at once get the same id.
func (s *installationStore) InstallationID(ctx context.Context) (string, error) {
	const op = "read the installation id"
	var ids []string
	read := func(db *gorm.DB) error {
		return db.Raw("SELECT id FROM installation WHERE singleton = 1").Scan(&ids).Error
	}
	if err := s.one(ctx, read); err != nil {
		return "", translate(op, err, nil)
	}
	if len(ids) == 1 && ids[0] != "" {
		return ids[0], nil
	}
	// Made once: the first writer's id stays, and every other reads it.
	err := s.one(ctx, func(db *gorm.DB) error {
		if err := db.Exec("INSERT INTO installation (singleton, id) VALUES (1, ?) ON CONFLICT (singleton) DO NOTHING", incident.NewInstallationID()).Error; err != nil {
			return err
		}
		return read(db)
	})
	if err != nil {
		return "", translate(op, err, nil)
	}
	if len(ids) != 1 || ids[0] == "" {
		return "", translate(op, errors.New("the installation row was not stored"), nil)
	}
	return ids[0], nil
}
