package gormstore

import (
	"context"
	"crypto/rand"
	"errors"

	"gorm.io/gorm"
)

// installationStore keeps the id of this installation of the bot (table
// installation, one row).
type installationStore struct{ *handle }

// installationIDLength is how many lowercase letters an installation id
// has: 26^12 ids, and never a number, so a page key's installation is never
// read as an incident id (ADR 0059).
const installationIDLength = 12

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
		if err := db.Exec("INSERT INTO installation (singleton, id) VALUES (1, ?) ON CONFLICT (singleton) DO NOTHING", newInstallationID()).Error; err != nil {
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

// newInstallationID is installationIDLength random lowercase letters.
func newInstallationID() string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, installationIDLength)
	for i := range b {
		// 256 = 9*26 + 22: a byte at or past 234 would favour the first
		// letters, so it is drawn again.
		var one [1]byte
		for {
			_, _ = rand.Read(one[:]) // never fails: Go's crypto/rand panics instead
			if one[0] < 234 {
				break
			}
		}
		b[i] = letters[one[0]%26]
	}
	return string(b)
}
