//go:build !unix || aix

package jobs

import (
	"errors"
	"os"
)

// fileLocks reports whether this system has flock(2); without it a SQLite
// engine watches its instance's heartbeat at start instead.
const fileLocks = false

// noFollow is no flag here: no lock file is opened.
const noFollow = 0

func flock(*os.File) (bool, error) { return false, errors.New("jobs: no flock on this system") }
