//go:build unix && !aix

package jobs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// fileLocks reports whether this system has flock(2).
const fileLocks = true

// noFollow makes the lock file's open refuse a symbolic link.
const noFollow = unix.O_NOFOLLOW

// flock takes an exclusive lock of f without waiting; false when another
// open file of it holds one.
func flock(f *os.File) (bool, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB)
			if !errors.Is(ferr, unix.EINTR) {
				return
			}
		}
	}); err != nil {
		return false, err
	}
	switch {
	case errors.Is(ferr, unix.EWOULDBLOCK):
		return false, nil
	case errors.Is(ferr, unix.EOPNOTSUPP), errors.Is(ferr, unix.ENOLCK), errors.Is(ferr, unix.ENOSYS):
		// The file system takes no such locks (some network and FUSE
		// file systems).
		return false, fmt.Errorf("%w: %w", errNoFileLocks, ferr)
	}
	return ferr == nil, ferr
}
