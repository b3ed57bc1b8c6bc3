package capture

import (
	"fmt"
	"strings"

	"github.com/firebreakhq/firebreak/incident"
)

// withFiles is what a message that shares files says on the timeline: its
// comment, then what was shared, so a file shared without a comment does
// not read as an empty message ("shared a file: grafana-p99.png";
// "rolled back — shared 2 files: p99.png, pool.log"). A file Slack no
// longer describes (deleted, hidden by a free plan's limit, or shown
// without a name) is counted and said to be so. The names are escaped as
// Slack escapes a message's text, which is what the timeline holds.
func withFiles(text string, files []incident.SharedFile) string {
	if len(files) == 0 {
		return text
	}
	var names []string
	var deleted, hidden, unnamed int
	for _, f := range files {
		switch {
		case f.Mode == incident.FileTombstone:
			deleted++
		case f.Mode == incident.FileHiddenByLimit:
			hidden++
		case !f.Gone():
			names = append(names, incident.EscapeText(strings.TrimSpace(f.Name)))
		default:
			unnamed++
		}
	}
	var gone []string
	for _, g := range []struct {
		n    int
		what string
	}{{deleted, "deleted"}, {hidden, "hidden by Slack's plan limit"}, {unnamed, "not shown to the bot"}} {
		switch {
		case g.n == 0:
		case len(files) == 1:
			gone = append(gone, g.what)
		default:
			gone = append(gone, fmt.Sprintf("%d %s", g.n, g.what))
		}
	}
	shared := "shared a file"
	if len(files) > 1 {
		shared = fmt.Sprintf("shared %d files", len(files))
	}
	if len(names) > 0 {
		shared += ": " + strings.Join(names, ", ")
	}
	switch {
	case len(gone) > 0 && len(names) > 0:
		shared += " (and " + strings.Join(gone, ", ") + ")"
	case len(gone) > 0:
		shared += " (" + strings.Join(gone, ", ") + ")"
	}
	if text = strings.TrimSpace(text); text == "" {
		return shared
	}
	return text + " — " + shared
}

// filesGone reports whether Slack no longer describes one of the files.
func filesGone(files []incident.SharedFile) bool {
	for _, f := range files {
		if f.Gone() {
			return true
		}
	}
	return false
}
