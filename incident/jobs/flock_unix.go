//go:build unix && !aix

package jobs

import (
	"errors"
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
	if errors.Is(ferr, unix.EWOULDBLOCK) {
		return false, nil
	}
	return ferr == nil, ferr
}
