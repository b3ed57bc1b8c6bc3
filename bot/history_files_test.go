package bot_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/capture"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// conversations.history gives a message that shares files its "files"
// array: file objects, or, for a file deleted since or hidden by a free
// workspace's limit, only the id and the mode
// (https://api.slack.com/changelog/2019-03-wild-west-for-files-no-more).
// History hands each file's title (else its name) and mode on, and the
// catch-up records what was shared, as live capture does.
func TestHistoryFileShares(t *testing.T) {
	f := newChatFixture(t)
	ctx := context.Background()
	ch, err := f.chat.CreateChannel(ctx, "inc-2026-03-01-checkout", false)
	require.NoError(t, err)
	bob := f.bob.ID
	add := func(m slackfake.Message) string {
		t.Helper()
		m.Channel, m.User = ch, bob
		stored, ok := f.srv.AddMessage(m)
		require.True(t, ok)
		return stored.TS
	}
	files := func(v ...map[string]any) json.RawMessage {
		raw, err := json.Marshal(v)
		require.NoError(t, err)
		return raw
	}
	file := func(id, name, title string) map[string]any {
		return map[string]any{"id": id, "created": chatNow.Unix(), "timestamp": chatNow.Unix(), "name": name, "title": title,
			"mimetype": "image/png", "filetype": "png", "pretty_type": "PNG", "user": bob, "editable": false, "size": 48213,
			"mode": "hosted", "is_external": false, "external_type": "", "is_public": false, "public_url_shared": false,
			"display_as_bot": false, "username": "", "url_private": "https://files.slack.com/files-pri/T0-" + id + "/" + name,
			"permalink": "https://acme.slack.com/files/" + bob + "/" + id + "/" + name}
	}
	bare := add(slackfake.Message{Subtype: "file_share", Files: files(file("F0P99", "grafana-p99.png", "grafana-p99.png"))})
	upload := add(slackfake.Message{Text: "heap after the restart", Files: files(file("F0HEAP", "heap.png", ""),
		map[string]any{"id": "F0DEL", "mode": "tombstone"})})
	hidden := add(slackfake.Message{Subtype: "file_share", Files: files(map[string]any{"id": "F0OLD", "mode": "hidden_by_limit"})})

	msgs, err := f.chat.History(ctx, ch, chatNow.Add(-time.Hour))
	require.NoError(t, err)
	byTS := map[string]incident.ChatMessage{}
	for _, m := range msgs {
		byTS[m.TS] = m
	}
	require.Equal(t, []incident.SharedFile{{Name: "grafana-p99.png", Mode: "hosted"}}, byTS[bare].Files)
	require.Equal(t, []incident.SharedFile{{Name: "heap.png", Mode: "hosted"}, {Mode: incident.FileTombstone}}, byTS[upload].Files)
	require.Equal(t, []incident.SharedFile{{Mode: incident.FileHiddenByLimit}}, byTS[hidden].Files)

	clock := incidenttest.NewClock(chatNow)
	store := incidenttest.NewMemStore(clock)
	inc, err := store.CreateIncident(ctx, &incident.Incident{Title: "checkout is down", Severity: incident.P1, Status: incident.StatusInvestigating,
		DeclaredBy: f.alice.ID, Commander: f.alice.ID, Roles: map[string]string{}, ChannelID: ch, DeclaredAt: chatNow.Add(-10 * time.Minute)})
	require.NoError(t, err)
	added, err := capture.New(capture.Config{Store: store, Chat: f.chat, Clock: clock}).Backfill(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, 3, added)
	events, err := store.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	texts := map[string]string{}
	for _, ev := range events {
		if d, ok := ev.Payload.(incident.MessageData); ok {
			texts[d.TS] = ev.Text
		}
	}
	require.Equal(t, map[string]string{
		bare:   "shared a file: grafana-p99.png",
		upload: "heap after the restart — shared 2 files: heap.png (and 1 deleted)",
		hidden: "shared a file (hidden by Slack's plan limit)",
	}, texts)
}
