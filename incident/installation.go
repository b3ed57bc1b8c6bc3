package incident

import "crypto/rand"

// InstallationIDLength is how many lowercase letters an installation id
// has: 26^12 ids, and never a number, so an id in a page key is never read
// as an incident id (ADR 0059).
const InstallationIDLength = 12

// NewInstallationID is a new id for an installation of the bot:
// InstallationIDLength random lowercase letters. A store makes it once and
// keeps it; every replica on that store reads the same.
func NewInstallationID() string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, InstallationIDLength)
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
