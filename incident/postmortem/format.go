package postmortem

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/firebreakhq/firebreak/incident"
)

// Formatting helpers. Times are UTC and durations read like the templates'
// duration function, so facts and tables agree.

func clock(t time.Time) string {
	if t.IsZero() {
		return "an unrecorded time"
	}
	return t.UTC().Format("15:04 UTC")
}

func fmtDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0 && m == 0:
		return fmt.Sprintf("%dh", h)
	case h > 0:
		return fmt.Sprintf("%dh %02dm", h, m)
	case m > 0 && s == 0:
		return fmt.Sprintf("%dm", m)
	case m > 0:
		return fmt.Sprintf("%dm %02ds", m, s)
	default:
		return fmt.Sprintf("%ds", s)
	}
}

func positive(d time.Duration) time.Duration { return max(d, 0) }

func minTime(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func statusLabel(s incident.Status) string {
	if s == "" {
		return incident.StatusDeclared.Label()
	}
	return s.Label()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func providerLabel(p string) string {
	if p == "" {
		return "a provider"
	}
	return incident.ProviderName(p)
}

func shortRef(ref string) string {
	if len(ref) == 40 && isHex(ref) {
		return ref[:7]
	}
	return ref
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= '0' && ch <= '9') && !(ch >= 'a' && ch <= 'f') && !(ch >= 'A' && ch <= 'F') {
			return false
		}
	}
	return true
}

// sentence lower-cases nothing but strips a trailing full stop, so a title
// reads inside a sentence.
func sentence(s string) string { return strings.TrimRight(strings.TrimSpace(s), ".") }

// punctuate ends s with a full stop unless it already ends a sentence.
func punctuate(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	switch s[len(s)-1] {
	case '.', '!', '?':
		return s
	}
	return s + "."
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return strings.ToLower(string(r)) + s[n:]
}

// truncate cuts s to at most n runes on a word boundary and marks the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut := string([]rune(s)[:n])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:.") + "…"
}

// eventUser is the person an event's payload names: a message's author, a
// role's new holder; "" for any other event.
func eventUser(ev incident.TimelineEvent) string {
	switch d := ev.Payload.(type) {
	case incident.MessageData:
		return d.User
	case incident.RoleAssignedData:
		return d.User
	}
	return ""
}
