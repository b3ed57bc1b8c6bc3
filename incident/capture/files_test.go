package capture_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// A message that shares files reads on the timeline as what was shared,
// after the comment when there is one; a file Slack no longer describes
// is counted as deleted, hidden by the plan's limit, or not shown.
func TestFileSharesSayWhatWasShared(t *testing.T) {
	t.Parallel()
	b := setupOn(t, storeMemory)
	inc := openIncident(t, b)
	capt := captureIn(t, b, inc)
	named := func(name string) incident.SharedFile { return incident.SharedFile{Name: name, Mode: "hosted"} }
	tests := []struct {
		text  string
		files []incident.SharedFile
		want  string
	}{
		{"", []incident.SharedFile{named("grafana-p99.png")}, "shared a file: grafana-p99.png"},
		{"  ", []incident.SharedFile{named("a.png"), named("b.log"), named("c.txt")}, "shared 3 files: a.png, b.log, c.txt"},
		{"the p99", []incident.SharedFile{named("grafana-p99.png")}, "the p99 — shared a file: grafana-p99.png"},
		{"", []incident.SharedFile{{Mode: incident.FileTombstone}}, "shared a file (deleted)"},
		{"", []incident.SharedFile{{Mode: incident.FileHiddenByLimit}}, "shared a file (hidden by Slack's plan limit)"},
		{"", []incident.SharedFile{{}}, "shared a file (not shown to the bot)"},
		{"", []incident.SharedFile{{Mode: incident.FileTombstone}, {Mode: incident.FileTombstone}}, "shared 2 files (2 deleted)"},
		{"", []incident.SharedFile{named("a.png"), {Mode: incident.FileTombstone}, {Mode: incident.FileHiddenByLimit}, {Name: " "}},
			"shared 4 files: a.png (and 1 deleted, 1 hidden by Slack's plan limit, 1 not shown to the bot)"},
		{"", []incident.SharedFile{named("R&D <plan>.md")}, "shared a file: R&amp;D &lt;plan&gt;.md"},
		{"no files", nil, "no files"},
	}
	for i, tt := range tests {
		ts := slackTS(inc, 10+i)
		capt(incident.CapturedMessage{TS: ts, User: "U0BOB", Subtype: "file_share", Text: tt.text, Files: tt.files})
		require.Equal(t, tt.want, messages(t, b, inc.ID)[ts].Text, "case %d", i)
	}
	// What is stored is Slack's text: the plain text the draft quotes
	// undoes the escapes.
	require.Equal(t, "shared a file: R&D <plan>.md", incident.PlainText(messages(t, b, inc.ID)[slackTS(inc, 18)].Text, nil))
}

// Slack changes a message when one of its files is deleted or hidden by
// the plan's limit (the file keeps only its id and mode), and when a
// file's title changes, without an edit of the words. Neither marks the
// message edited, and a file gone since keeps its name on the record,
// live and read back alike. A newer edit of the comment is an edit. A
// message stored with no text before files were described gets what it
// shared, without being marked edited.
func TestFileChangesAreNotEdits(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind)
		ctx := context.Background()
		inc := openIncident(t, b)
		capt := captureIn(t, b, inc)
		p99 := incident.SharedFile{Name: "grafana-p99.png", Mode: "hosted"}
		ts, later, legacy := slackTS(inc, 10), slackTS(inc, 11), slackTS(inc, 12)
		capt(incident.CapturedMessage{TS: ts, User: "U0BOB", Subtype: "file_share", Files: []incident.SharedFile{p99}})
		capt(incident.CapturedMessage{TS: later, User: "U0BOB", Subtype: "file_share", Text: "pool", Files: []incident.SharedFile{p99}})
		capt(incident.CapturedMessage{TS: legacy, User: "U0CAROL", Subtype: "file_share"})
		changed := func(ts, text, editedTS string, files ...incident.SharedFile) {
			t.Helper()
			capt(incident.CapturedMessage{TS: ts, User: "U0BOB", Subtype: incident.SubtypeChanged, MessageSubtype: "file_share", Text: text,
				Edited: editedTS != "", EditedTS: editedTS, Files: files})
		}

		changed(ts, "", "", incident.SharedFile{Mode: incident.FileTombstone})
		got := messages(t, b, inc.ID)[ts]
		require.Equal(t, "shared a file: grafana-p99.png", got.Text, "the file deleted since keeps its name")
		require.False(t, msgData(got).Edited)

		changed(later, "pool", "", incident.SharedFile{Name: "p99 at 14:06", Mode: "hosted"})
		got = messages(t, b, inc.ID)[later]
		require.Equal(t, "pool — shared a file: p99 at 14:06", got.Text, "a new title")
		require.False(t, msgData(got).Edited)
		changed(later, "pool on db-2", slackTS(inc, 60), incident.SharedFile{Mode: incident.FileHiddenByLimit})
		got = messages(t, b, inc.ID)[later]
		require.Equal(t, "pool on db-2 — shared a file (hidden by Slack's plan limit)", got.Text, "a newer edit of the words")
		require.True(t, msgData(got).Edited)

		// Read back: the deleted file is only an id in the history now,
		// and the legacy message has its file described.
		b.chat.Messages[inc.ChannelID] = []incident.ChatMessage{
			{TS: ts, User: "U0BOB", Subtype: "file_share", Files: []incident.SharedFile{{Mode: incident.FileTombstone}}},
			{TS: later, User: "U0BOB", Subtype: "file_share", Text: "pool on db-2", EditedTS: slackTS(inc, 60), Edited: true,
				Files: []incident.SharedFile{{Mode: incident.FileHiddenByLimit}}},
			{TS: legacy, User: "U0CAROL", Subtype: "file_share", Files: []incident.SharedFile{{Name: "pool.log", Mode: "hosted"}}},
		}
		added, err := b.capt.Backfill(ctx, inc.ID)
		require.NoError(t, err)
		require.Zero(t, added)
		all := messages(t, b, inc.ID)
		require.Equal(t, "shared a file: grafana-p99.png", all[ts].Text)
		require.False(t, msgData(all[ts]).Edited)
		require.Equal(t, "shared a file: pool.log", all[legacy].Text)
		require.False(t, msgData(all[legacy]).Edited, "describing the file is not an edit")
	})
}
