package bot

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// messageChanged is a message_changed event as Slack documents it
// (https://docs.slack.dev/reference/events/message/message_changed): the
// message as it now reads, with edited.ts the time of its last edit when
// it has one, and its own subtype, if any.
func messageChanged(eventTS, ts, user, text, editedTS, subtype string) string {
	inner := fmt.Sprintf(`"type":"message","user":%q,"text":%q,"ts":%q`, user, text, ts)
	if subtype != "" {
		inner += fmt.Sprintf(`,"subtype":%q,"hidden":true,"thread_ts":%q,"reply_count":1`, subtype, ts)
	}
	if editedTS != "" {
		inner += fmt.Sprintf(`,"edited":{"user":%q,"ts":%q}`, user, editedTS)
	}
	return fmt.Sprintf(`{"type":"message","subtype":"message_changed","hidden":true,"channel":%q,"ts":%q,"message":{%s},"event_ts":%q}`,
		captureChannel, eventTS, inner, eventTS)
}

// Two edits delivered out of order (Slack does not promise the order, and
// a retry can come late): the transport hands on message.edited.ts, and
// the timeline keeps the newest text.
func TestCaptureEditsOutOfOrder(t *testing.T) {
	t.Parallel()
	f := newCaptureFixture(t, false)
	const first = "1773497160.000100"
	f.deliver(t, "Ev01", fmt.Sprintf(`{"type":"message","channel":%q,"user":"U0ALICE","text":"checkout returns 500s","ts":%q}`, captureChannel, first))
	f.deliver(t, "Ev03", messageChanged("1773497300.000000", first, "U0ALICE", "checkout returns 500s for cards and wallets", "1773497300.000000", ""))
	f.deliver(t, "Ev02", messageChanged("1773497200.000000", first, "U0ALICE", "checkout returns 500s for cards", "1773497200.000000", ""))

	got := f.messages(t)[first]
	require.Equal(t, "checkout returns 500s for cards and wallets", got.Text)
	require.Equal(t, incident.MessageData{User: "U0ALICE", TS: first, Edited: true, EditedTS: "1773497300.000000"}, got.Payload)
}

// Deleting a thread's parent puts a tombstone in its place: a
// message_changed whose message has subtype "tombstone". The transport
// hands the subtype on, so the domain knows it whatever the text says.
func TestCaptureTombstoneBySubtype(t *testing.T) {
	t.Parallel()
	f := newCaptureFixture(t, false)
	const parent = "1773497160.000100"
	f.deliver(t, "Ev01", fmt.Sprintf(`{"type":"message","channel":%q,"user":"U0ALICE","text":"rolling back","ts":%q}`, captureChannel, parent))
	f.deliver(t, "Ev02", messageChanged("1773497200.000000", parent, "USLACKBOT", "Ce message a été supprimé.", "", incident.SubtypeTombstone))

	got := f.messages(t)[parent]
	require.Equal(t, "rolling back", got.Text, "a tombstone is no edit by Slackbot")
	require.Equal(t, "U0ALICE", got.Actor)
	require.True(t, msgData(got).Deleted)
}
