package bot_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// largeWorkspace is a fake Slack under its tier rate limits with 25,000
// channels the bot is not in: more than conversations.list (Tier 2, 20
// calls a minute, 1,000 channels a page) reads in a minute.
type largeWorkspace struct {
	srv   *slackfake.Server
	chat  *bot.Chat
	mu    sync.Mutex
	now   time.Time
	waits int
}

func newLargeWorkspace(t *testing.T) *largeWorkspace {
	t.Helper()
	w := &largeWorkspace{now: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)}
	w.srv = slackfake.New(slackfake.WithClock(w.clock), slackfake.WithRateLimits(), slackfake.WithChatWritePublic())
	t.Cleanup(w.srv.Close)
	for i := range 25_000 {
		w.srv.AddChannel(slackfake.Channel{Name: fmt.Sprintf("team-%05d", i), Creator: "U0OTHER"})
	}
	api := slack.New(w.srv.BotToken(), slack.OptionAPIURL(w.srv.URL()))
	w.chat = bot.NewChat(api, incident.DefaultPolicy(), bot.WithBotUserID(w.srv.BotUserID()),
		bot.WithChatClock(incident.ClockFunc(w.clock)))
	return w
}

func (w *largeWorkspace) clock() time.Time { w.mu.Lock(); defer w.mu.Unlock(); return w.now }

// retry runs do as the job engine would: a rate-limited attempt waits the
// Retry-After Slack gave and tries again, up to attempts times.
func (w *largeWorkspace) retry(t *testing.T, attempts int, do func() error) error {
	t.Helper()
	var err error
	for range attempts {
		if err = do(); err == nil {
			return nil
		}
		var ra interface{ RetryAfter() time.Duration }
		if !errors.As(err, &ra) {
			return err
		}
		w.mu.Lock()
		w.now = w.now.Add(ra.RetryAfter())
		w.waits++
		w.mu.Unlock()
	}
	return err
}

// TestFindChannelInALargeWorkspace: a declare whose dated channel name is
// taken looks for its own channel among the channels the bot is in, so it
// finds it in one call however many channels the workspace has, and a
// name taken by someone else's channel or an archived one is answered
// ENOTFOUND as quickly, so the declare moves on to the next "-2" name.
func TestFindChannelInALargeWorkspace(t *testing.T) {
	t.Parallel()
	w := newLargeWorkspace(t)
	botID := w.srv.BotUserID()
	own := w.srv.AddChannel(slackfake.Channel{Name: "inc-2026-12-05-checkout-is-down", Creator: botID, Members: []string{botID}})
	w.srv.AddChannel(slackfake.Channel{Name: "inc-2026-12-05-theirs", Creator: "U0OTHER", Members: []string{"U0OTHER", botID}})
	w.srv.AddChannel(slackfake.Channel{Name: "inc-2026-12-05-archived", Creator: botID, Members: []string{botID}, Archived: true})
	w.srv.AddChannel(slackfake.Channel{Name: "inc-2026-12-05-private", Creator: botID, Members: []string{botID}, Private: true})
	ctx := context.Background()

	var id string
	require.NoError(t, w.retry(t, 3, func() (err error) {
		id, err = w.chat.FindChannel(ctx, own.Name, false)
		return err
	}))
	require.Equal(t, own.ID, id)
	require.Zero(t, w.waits, "found without being rate-limited")

	for _, tc := range []struct {
		name    string
		private bool
	}{{"inc-2026-12-05-theirs", false}, {"inc-2026-12-05-archived", false}, {"inc-2026-12-05-nowhere", false}, {"inc-2026-12-05-private", false}} {
		err := w.retry(t, 3, func() error { _, err := w.chat.FindChannel(ctx, tc.name, tc.private); return err })
		require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(err), "%s: %v", tc.name, err)
	}
	id, err := w.chat.FindChannel(ctx, "inc-2026-12-05-private", true)
	require.NoError(t, err)
	require.NotEmpty(t, id)

	require.Empty(t, w.srv.CallsTo("conversations.list"), "the workspace's 25,000 channels are not read")
	require.Len(t, w.srv.CallsTo("users.conversations"), 6, "one page of the bot's channels per lookup")
	require.Zero(t, w.waits)
}

// TestBroadcastChannelInALargeWorkspace: a "#name" the bot is not in is
// found by reading the workspace's public channels; a read stopped by
// conversations.list's rate limit goes on where it stopped at the next
// attempt, so the post lands after one wait and no page is read twice. A
// channel the bot is in, private ones among them, is found without reading
// the workspace.
func TestBroadcastChannelInALargeWorkspace(t *testing.T) {
	t.Parallel()
	w := newLargeWorkspace(t)
	botID := w.srv.BotUserID()
	announce := w.srv.AddChannel(slackfake.Channel{Name: "announcements", Creator: "U0OTHER"})
	alerts := w.srv.AddChannel(slackfake.Channel{Name: "sec-alerts", Creator: "U0OTHER", Private: true, Members: []string{"U0OTHER", botID}})
	ctx := context.Background()

	require.NoError(t, w.retry(t, 3, func() error { _, err := w.chat.Post(ctx, "#sec-alerts", "a private alert"); return err }))
	require.Len(t, w.srv.Messages(alerts.ID), 1)
	require.Empty(t, w.srv.CallsTo("conversations.list"), "a channel the bot is in is found among its own")

	require.NoError(t, w.retry(t, 5, func() error { _, err := w.chat.Post(ctx, "#announcements", "INC-7 declared"); return err }))
	require.Len(t, w.srv.Messages(announce.ID), 1)
	require.Equal(t, 1, w.waits, "one wait for conversations.list's minute")
	list := w.srv.CallsTo("conversations.list")
	cursors := map[string]bool{}
	read := 0
	for _, c := range list {
		if !c.OK() {
			continue
		}
		read++
		require.False(t, cursors[c.Args.Get("cursor")], "page %q read twice", c.Args.Get("cursor"))
		cursors[c.Args.Get("cursor")] = true
		require.Equal(t, "public_channel", c.Args.Get("types"))
		require.Equal(t, "true", c.Args.Get("exclude_archived"))
	}
	require.Equal(t, 26, read, "every page once: 25,002 channels at 1,000 a page")

	// What the read found stands for the next names: no more calls.
	w.srv.AddChannel(slackfake.Channel{Name: "status", Creator: "U0OTHER"})
	before := len(w.srv.CallsTo("conversations.list"))
	_, err := w.chat.Post(ctx, "#team-00042", "hello")
	require.NoError(t, err)
	require.Len(t, w.srv.CallsTo("conversations.list"), before)

	// A name nobody has is ENOTFOUND, from what was read.
	_, err = w.chat.Post(ctx, "#nowhere", "hello")
	require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(err), "%v", err)
	require.Len(t, w.srv.CallsTo("conversations.list"), before)

	// Later, the workspace is read again, and a channel created since is found.
	w.mu.Lock()
	w.now = w.now.Add(time.Hour)
	w.mu.Unlock()
	require.NoError(t, w.retry(t, 5, func() error { _, err := w.chat.Post(ctx, "#status", "hello"); return err }))
}
