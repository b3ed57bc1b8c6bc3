package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident/postmortem"
	"github.com/firebreakhq/firebreak/templates"
)

// slackFileJSON is a file object as a message event carries it
// (https://docs.slack.dev/reference/objects/file-object).
func slackFileJSON(id, name, title, mimetype, filetype string) string {
	return fmt.Sprintf(`{"id":%q,"created":1773497250,"timestamp":1773497250,"name":%q,"title":%q,"mimetype":%q,"filetype":%q,`+
		`"pretty_type":%q,"user":"U0BOB","user_team":"T0","editable":false,"size":48213,"mode":"hosted","is_external":false,`+
		`"external_type":"","is_public":false,"public_url_shared":false,"display_as_bot":false,"username":"",`+
		`"url_private":"https://files.slack.com/files-pri/T0-%[1]s/%[2]s","url_private_download":"https://files.slack.com/files-pri/T0-%[1]s/download/%[2]s",`+
		`"permalink":"https://acme.slack.com/files/U0BOB/%[1]s/%[2]s","permalink_public":"https://slack-files.com/T0-%[1]s-0ce8936320",`+
		`"has_rich_preview":false,"file_access":"visible"}`, id, name, title, mimetype, filetype, strings.ToUpper(filetype))
}

// A file shared without a comment is a message with files and an empty
// text: Slack sends it with subtype "file_share", or, from newer clients,
// with no subtype and "upload": true. The timeline and the draft say what
// was shared, by the file's title (its name when it has none), with the
// comment when there is one. A file deleted since ("mode":"tombstone") or
// hidden by a free plan's limit ("mode":"hidden_by_limit") has only its
// id left, and is said to be so; one deleted after it was captured keeps
// its name on the record, and the message is not marked edited.
func TestCaptureFileShares(t *testing.T) {
	t.Parallel()
	f := newCaptureFixture(t, true)
	const (
		bare     = "1773497250.000100"
		upload   = "1773497251.000200"
		comment  = "1773497252.000300"
		gone     = "1773497253.000400"
		escaped  = "1773497254.000500"
		untitled = "1773497255.000600"
	)
	share := func(ts, subtype, text string, files ...string) string {
		sub := ""
		if subtype != "" {
			sub = fmt.Sprintf(`"subtype":%q,`, subtype)
		}
		return fmt.Sprintf(`{"type":"message",%s"text":%q,"files":[%s],"upload":true,"user":"U0BOB","display_as_bot":false,`+
			`"ts":%q,"channel":%q,"event_ts":%q,"channel_type":"channel"}`, sub, text, strings.Join(files, ","), ts, captureChannel, ts)
	}
	p99 := slackFileJSON("F0P99", "grafana-p99.png", "grafana-p99.png", "image/png", "png")
	f.deliver(t, "EvF1", share(bare, "file_share", "", p99))
	f.deliver(t, "EvF2", share(upload, "", "", slackFileJSON("F0LOG", "pool.log", "pool.log", "text/plain", "text")))
	f.deliver(t, "EvF3", share(comment, "file_share", "pool is at 100% here", p99,
		slackFileJSON("F0CPU", "Screenshot 2026-03-14 at 14.06.png", "db cpu", "image/png", "png")))
	f.deliver(t, "EvF4", share(gone, "file_share", "", slackFileJSON("F0OK", "trace.json", "trace.json", "application/json", "json"),
		`{"id":"F0DEL","mode":"tombstone"}`, `{"id":"F0OLD","mode":"hidden_by_limit"}`))
	f.deliver(t, "EvF5", share(escaped, "file_share", "", slackFileJSON("F0RD", "r-d.txt", "R&D <draft> notes", "text/plain", "text")))
	f.deliver(t, "EvF6", share(untitled, "file_share", "", slackFileJSON("F0UN", "heap.pprof", "", "application/octet-stream", "binary")))

	got := f.messages(t)
	require.Equal(t, "shared a file: grafana-p99.png", got[bare].Text)
	require.Equal(t, "U0BOB", got[bare].Actor)
	require.Equal(t, "shared a file: pool.log", got[upload].Text)
	require.Equal(t, "pool is at 100% here — shared 2 files: grafana-p99.png, db cpu", got[comment].Text, "the comment, then the titles")
	require.Equal(t, "shared 3 files: trace.json (and 1 deleted, 1 hidden by Slack's plan limit)", got[gone].Text)
	require.Equal(t, "shared a file: R&amp;D &lt;draft&gt; notes", got[escaped].Text, "escaped as Slack escapes a message's text")
	require.Equal(t, "shared a file: heap.pprof", got[untitled].Text, "no title: the file's name")

	// The file is deleted: Slack changes the message to carry only the
	// file's id. The record keeps what was shared.
	f.deliver(t, "EvF7", fmt.Sprintf(`{"type":"message","subtype":"message_changed","hidden":true,"channel":%q,"ts":"1773497300.000000",`+
		`"message":{"type":"message","subtype":"file_share","text":"","files":[{"id":"F0P99","mode":"tombstone"}],"upload":true,"user":"U0BOB","ts":%q},`+
		`"previous_message":{"type":"message","subtype":"file_share","text":"","files":[%s],"upload":true,"user":"U0BOB","ts":%q},"event_ts":"1773497300.000000"}`,
		captureChannel, bare, p99, bare))
	// A comment edited later replaces the words, and is an edit.
	cpu := slackFileJSON("F0CPU", "Screenshot 2026-03-14 at 14.06.png", "db cpu", "image/png", "png")
	f.deliver(t, "EvF8", fmt.Sprintf(`{"type":"message","subtype":"message_changed","hidden":true,"channel":%q,"ts":"1773497310.000000",`+
		`"message":{"type":"message","subtype":"file_share","text":"pool is at 100%% on db-2","files":[%s,%s],"upload":true,"user":"U0BOB","ts":%q,`+
		`"edited":{"user":"U0BOB","ts":"1773497309.000000"}},"event_ts":"1773497310.000000"}`, captureChannel, p99, cpu, comment))
	// A file shared and deleted before the bot saw the message.
	f.deliver(t, "EvF9", share("1773497320.000700", "file_share", "", `{"id":"F0GONE","mode":"tombstone"}`))
	// It is pinned, with the message as Slack sends it in the pin.
	f.deliver(t, "EvF10", fmt.Sprintf(`{"type":"pin_added","user":"U0ALICE","channel_id":%q,"item":{"type":"message","channel":%q,"created":1773497330,`+
		`"created_by":"U0ALICE","message":{"type":"message","subtype":"file_share","text":"","files":[%s],"upload":true,"user":"U0BOB","ts":%q}},`+
		`"event_ts":"1773497330.000000"}`, captureChannel, captureChannel, slackFileJSON("F0LOG", "pool.log", "pool.log", "text/plain", "text"), upload))

	got = f.messages(t)
	require.Equal(t, "shared a file: grafana-p99.png", got[bare].Text, "a file deleted since stays on the record")
	require.False(t, msgData(got[bare]).Edited, "nobody edited the message")
	require.Equal(t, "pool is at 100% on db-2 — shared 2 files: grafana-p99.png, db cpu", got[comment].Text)
	require.True(t, msgData(got[comment]).Edited)
	require.Equal(t, "shared a file (deleted)", got["1773497320.000700"].Text)
	require.True(t, got[upload].Key)
	require.Equal(t, "shared a file: pool.log", got[upload].Text)

	// The draft quotes the key event as what was shared, not as nothing.
	renderer, err := templates.Load("")
	require.NoError(t, err)
	pm := postmortem.New(postmortem.Config{Split: MarkdownParts, Store: f.store, Chat: f.chat, Renderer: renderer, Clock: f.clock})
	d, doc, err := pm.Draft(context.Background(), f.inc.ID)
	require.NoError(t, err)
	require.Len(t, d.KeyEvents, 1)
	require.Equal(t, "shared a file: pool.log", d.KeyEvents[0].Text)
	require.Contains(t, doc.Markdown, ": shared a file: pool.log")
}
