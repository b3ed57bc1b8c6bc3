package bot

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// A classic integration's post, as Slack documents it
// (https://docs.slack.dev/reference/events/message/bot_message), carries a
// bot_id and a username but no app_id and no bot_profile. It is another
// app's message: captured and attributed to the app, with its edits, its
// deletion and its pins, as backfill does.
func TestCaptureClassicBotMessageAsDocumented(t *testing.T) {
	t.Parallel()
	f := newCaptureFixture(t, false)
	const (
		ts     = "1773497221.000001"
		edited = "1773497222.000002"
		gone   = "1773497223.000003"
	)
	classic := func(ts, text string) string {
		return fmt.Sprintf(`{"type":"message","subtype":"bot_message","ts":%q,"text":%q,"bot_id":"BB12033","username":"github","icons":{}}`, ts, text)
	}
	f.deliver(t, "EvDoc1", fmt.Sprintf(`{"type":"message","subtype":"bot_message","channel":%q,"ts":%q,"text":"Pushing is the answer","bot_id":"BB12033","username":"github","icons":{}}`,
		captureChannel, ts))
	f.deliver(t, "EvDoc2", fmt.Sprintf(`{"type":"message","subtype":"bot_message","channel":%q,"ts":%q,"text":"deploy 41 started","bot_id":"BB12033","username":"github","icons":{}}`,
		captureChannel, edited))
	f.deliver(t, "EvDoc3", fmt.Sprintf(`{"type":"message","subtype":"message_changed","hidden":true,"channel":%q,"ts":"1773497230.000000",`+
		`"message":{"type":"message","subtype":"bot_message","ts":%q,"text":"deploy 41 failed","bot_id":"BB12033","username":"github","icons":{},"edited":{"user":"BB12033","ts":"1773497229.000000"}},`+
		`"previous_message":%s,"event_ts":"1773497230.000000"}`, captureChannel, edited, classic(edited, "deploy 41 started")))
	// A pin of a classic post whose own delivery was missed, and the
	// deletion of another.
	f.deliver(t, "EvDoc4", fmt.Sprintf(`{"type":"pin_added","user":"U0ALICE","channel_id":%q,"item":{"type":"message","channel":%q,"created":1773497231,"created_by":"U0ALICE",`+
		`"message":%s},"event_ts":"1773497231.000000"}`, captureChannel, captureChannel, classic(gone, "rollback requested")))
	f.deliver(t, "EvDoc5", fmt.Sprintf(`{"type":"message","subtype":"message_deleted","hidden":true,"channel":%q,"ts":"1773497232.000000",`+
		`"deleted_ts":%q,"previous_message":%s,"event_ts":"1773497232.000000"}`, captureChannel, gone, classic(gone, "rollback requested")))

	got := f.messages(t)
	require.Contains(t, got, ts, "the documented classic bot_message is dropped as if the bot had posted it")
	require.Equal(t, "github", got[ts].Actor)
	require.Equal(t, "github", msgData(got[ts]).App)
	require.Equal(t, "Pushing is the answer", got[ts].Text)
	require.Equal(t, "deploy 41 failed", got[edited].Text)
	require.True(t, msgData(got[edited]).Edited)
	require.True(t, got[gone].Key, "the pin marks the classic post")
	require.True(t, msgData(got[gone]).Deleted)
}

// The bot's own lines stay out however they carry its identity: its user,
// or its app id on the message or in its bot profile.
func TestCaptureLeavesOutOwnMessages(t *testing.T) {
	t.Parallel()
	f := newCaptureFixture(t, false)
	f.deliver(t, "EvOwn1", fmt.Sprintf(`{"type":"message","channel":%q,"user":%q,"bot_id":"B0BOT","app_id":%q,"text":"panel","ts":"1773497240.000001"}`,
		captureChannel, captureBot, captureApp))
	f.deliver(t, "EvOwn2", fmt.Sprintf(`{"type":"message","subtype":"bot_message","channel":%q,"bot_id":"B0BOT","app_id":%q,"text":"via response_url","ts":"1773497240.000002"}`,
		captureChannel, captureApp))
	f.deliver(t, "EvOwn3", fmt.Sprintf(`{"type":"message","channel":%q,"bot_id":"B0BOT","bot_profile":{"id":"B0BOT","app_id":%q,"name":"firebreak"},"text":"status","ts":"1773497240.000003"}`,
		captureChannel, captureApp))
	require.Empty(t, f.messages(t))
}

// Slack sends a message_changed without "edited" when it unfurls a link a
// moment after the message. Event jobs run in parallel (and on two
// replicas), so the unfurl's job can run before the message's own: the
// message is stored as it reads, not edited, and the postmortem does not
// say "(edited)" of words nobody edited.
func TestCaptureUnfurlBeforeOriginalIsNotAnEdit(t *testing.T) {
	t.Parallel()
	f := newCaptureFixture(t, false)
	const ts = "1773497160.000100"
	text := "deploy <https://ci.example.com/run/42> broke checkout"
	f.deliver(t, "EvUnfurl", fmt.Sprintf(`{"type":"message","subtype":"message_changed","hidden":true,"channel":%q,"ts":"1773497161.000000",`+
		`"message":{"type":"message","user":"U0ALICE","text":%q,"ts":%q,"attachments":[{"id":1,"title":"run 42","from_url":"https://ci.example.com/run/42"}]},`+
		`"previous_message":{"type":"message","user":"U0ALICE","text":%q,"ts":%q},"event_ts":"1773497161.000000"}`,
		captureChannel, text, ts, text, ts))
	f.deliver(t, "EvOrig", fmt.Sprintf(`{"type":"message","channel":%q,"user":"U0ALICE","text":%q,"ts":%q,"event_ts":%q,"channel_type":"channel"}`,
		captureChannel, text, ts, ts))
	got := f.messages(t)
	require.Contains(t, got, ts)
	require.Equal(t, text, got[ts].Text)
	require.False(t, msgData(got[ts]).Edited, "a message only unfurled is recorded as edited")

	// An edit that overtook its original is an edit.
	const late = "1773497170.000200"
	f.deliver(t, "EvEdit", fmt.Sprintf(`{"type":"message","subtype":"message_changed","hidden":true,"channel":%q,"ts":"1773497175.000000",`+
		`"message":{"type":"message","user":"U0BOB","text":"pool at 100%%","ts":%q,"edited":{"user":"U0BOB","ts":"1773497174.000000"}},`+
		`"previous_message":{"type":"message","user":"U0BOB","text":"pool at 10%%","ts":%q},"event_ts":"1773497175.000000"}`,
		captureChannel, late, late))
	f.deliver(t, "EvLate", fmt.Sprintf(`{"type":"message","channel":%q,"user":"U0BOB","text":"pool at 10%%","ts":%q}`, captureChannel, late))
	got = f.messages(t)
	require.Equal(t, "pool at 100%", got[late].Text)
	require.True(t, msgData(got[late]).Edited)
}
