package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// reliabilityEnv is the configuration of a paging service on the demo
// world's fakes.
func reliabilityEnv(t *testing.T, world *demoWorld, extraPolicy string) map[string]string {
	t.Helper()
	policy := writePolicyFile(t, `
channels: {broadcast: "#incidents"}
services:
  checkout:
    name: Checkout
    responders: [U0CAROL, S0PAYMENTS]
    pagerduty: {service_id: PSVC1}
`+extraPolicy)
	return map[string]string{
		"POLICY_FILE":       policy,
		"PAGERDUTY_API_URL": world.pd.URL(), "PAGERDUTY_EVENTS_URL": world.pd.EventsURL(), "PAGERDUTY_TOKEN": world.pd.Token(),
		"PAGERDUTY_FROM_EMAIL": "bot@example.com", "PAGERDUTY_WEBHOOK_SECRET": demoPDSecret,
		"SHUTDOWN_TIMEOUT": "200ms", "LOG_LEVEL": "warn",
	}
}

// warRoomDone reports whether the incident's war room is complete: its
// channel exists with one pinned control panel, the page was reported in it,
// and the announcement is in #incidents.
func warRoomDone(fake *slackfake.Server, title string) bool {
	name := "-" + strings.ToLower(strings.ReplaceAll(title, " ", "-"))
	for _, ch := range fake.Channels() {
		if !strings.HasSuffix(ch.Name, name) {
			continue
		}
		text := messagesText(fake, ch.ID)
		return len(ch.Pins) == 1 && strings.Contains(text, "Paged *Checkout*") &&
			strings.Contains(messagesText(fake, "C0INCIDENTS"), title)
	}
	return false
}

// duplicates lists every message the bot posted more than once in a
// channel (same text and blocks), and every channel with more than one pin.
func duplicates(fake *slackfake.Server) []string {
	var out []string
	for _, ch := range fake.Channels() {
		seen := map[string]int{}
		for _, m := range fake.Messages(ch.ID) {
			if m.BotID == "" {
				continue
			}
			seen[m.Text+"\x00"+string(m.Blocks)]++
		}
		for k, n := range seen {
			if n > 1 {
				text, _, _ := strings.Cut(k, "\x00")
				out = append(out, fmt.Sprintf("#%s: %d copies of %q", ch.Name, n, text))
			}
		}
		if len(ch.Pins) > 1 {
			out = append(out, fmt.Sprintf("#%s: %d pins", ch.Name, len(ch.Pins)))
		}
	}
	return out
}

// TestNoDuplicatesWhenSlackFailsAfterActing: a fifth of all Slack calls take
// effect and then answer 500. Every war room is completed, and no message,
// panel, announcement, "Paged" line or pin exists twice: a retry finds what
// the failed call did (message metadata in conversations.history, the
// channel's topic, already_pinned) instead of doing it again.
func TestNoDuplicatesWhenSlackFailsAfterActing(t *testing.T) {
	t.Parallel()
	world, cleanup, err := newDemoWorld(t.TempDir(), nopWriter{})
	require.NoError(t, err)
	t.Cleanup(cleanup)
	fake := world.slack
	env := reliabilityEnv(t, world, "")
	b := startBot(t, botOptions{mode: "http", slack: fake, env: env})
	fake.TookEffectFraction("", 0.2, http.StatusInternalServerError)

	titles := []string{"Checkout fails", "Payments slow", "Cart empties", "Search down"}
	for _, title := range titles {
		_, text := b.command("http", "U0ALICE", "C0GENERAL", "declare P1 --service=checkout "+title)
		require.Contains(t, text, "Declaring INC-")
	}
	defer func() {
		if t.Failed() {
			for _, ch := range fake.Channels() {
				t.Logf("#%s pins=%d: %s", ch.Name, len(ch.Pins), messagesText(fake, ch.ID))
			}
			t.Logf("logs: %s", b.logs.String())
		}
	}()
	require.Eventually(t, func() bool {
		for _, title := range titles {
			if !warRoomDone(fake, title) {
				return false
			}
		}
		return true
	}, 60*time.Second, 100*time.Millisecond, "every war room is completed despite the failures")
	fake.TookEffectFraction("", 0, 0)

	failed := 0
	for _, c := range fake.Calls() {
		if c.Status == http.StatusInternalServerError {
			failed++
		}
	}
	t.Logf("%d of %d Slack calls took effect and answered 500", failed, len(fake.Calls()))
	require.Positive(t, failed)
	require.Empty(t, duplicates(fake))
	require.Len(t, world.pd.Incidents(), len(titles), "each incident paged once")
}

// TestFiftyConcurrentDeclaresUnderRateLimits: 50 declares at once against a
// Slack that enforces its real per-method tiers. Every page goes out within
// 5 seconds of its declare (pages run on their own workers, and no worker
// sleeps out a rate limit), no Slack call comes before the Retry-After it
// was given, and every war room is completed.
func TestFiftyConcurrentDeclaresUnderRateLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("takes minutes: Slack's tier 2 allows 20 channels a minute")
	}
	t.Parallel()
	world, cleanup, err := newDemoWorld(t.TempDir(), nopWriter{})
	require.NoError(t, err)
	t.Cleanup(cleanup)
	fake := slackfake.New(slackfake.WithChatWritePublic(), slackfake.WithRateLimits())
	t.Cleanup(fake.Close)
	fake.AddUser(slackfake.User{ID: "U0ALICE", Name: "alice", Email: "alice@example.com"})
	fake.AddUser(slackfake.User{ID: "U0CAROL", Name: "carol", Email: "carol@example.com"})
	fake.AddUserGroup(slackfake.UserGroup{ID: "S0PAYMENTS", Handle: "payments", Users: []string{"U0CAROL"}})
	fake.AddChannel(slackfake.Channel{ID: "C0GENERAL", Name: "general", Members: []string{"U0ALICE", fake.BotUserID()}})
	fake.AddChannel(slackfake.Channel{ID: "C0INCIDENTS", Name: "incidents", Members: []string{fake.BotUserID()}})
	b := startBot(t, botOptions{mode: "http", slack: fake, databaseURL: pgtest.DSN(t), env: reliabilityEnv(t, world, "")})

	const n = 50
	declared := make([]time.Time, n)
	paged := make([]time.Time, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			declared[i] = time.Now()
			cmd := slack.SlashCommand{Command: "/incident", UserID: "U0ALICE", ChannelID: "C0GENERAL",
				Text: fmt.Sprintf("declare P1 --service=checkout Outage %02d", i)}
			r, err := b.driver.SlashCommand(ctx, b.base+"/slack/commands", cmd)
			if err == nil && !strings.Contains(string(r.Body), "Declaring INC-") {
				err = fmt.Errorf("declare %d answered %s", i, r.Body)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		now := time.Now()
		for _, inc := range world.pd.Incidents() {
			var i int
			if _, err := fmt.Sscanf(inc.Title[strings.Index(inc.Title, "Outage "):], "Outage %02d", &i); err == nil && paged[i].IsZero() {
				paged[i] = now
			}
		}
		for i := range n {
			if paged[i].IsZero() {
				return false
			}
		}
		return true
	}, 60*time.Second, 20*time.Millisecond, "every incident is paged")
	lat := make([]time.Duration, n)
	for i := range n {
		lat[i] = paged[i].Sub(declared[i])
	}
	slices.Sort(lat)
	worst := lat[n-1]
	t.Logf("declare to page: p50 %s, p90 %s, slowest %s", lat[n/2].Round(time.Millisecond), lat[n*9/10].Round(time.Millisecond), worst.Round(time.Millisecond))
	require.Less(t, worst, 5*time.Second, "each page within 5 s of its declare")

	started := time.Now()
	require.Eventually(t, func() bool {
		done := 0
		for _, ch := range fake.Channels() {
			if strings.HasPrefix(ch.Name, "inc-") && len(ch.Pins) == 1 {
				done++
			}
		}
		return done == n
	}, 6*time.Minute, 250*time.Millisecond, "every war room is completed under the rate limits")
	t.Logf("all %d war rooms completed %s after the last declare", n, time.Since(started).Round(time.Second))
	require.Empty(t, fake.PrematureCalls(), "no Slack call before its Retry-After elapsed")
	require.Len(t, world.pd.Incidents(), n, "each incident paged once")
	require.Empty(t, duplicates(fake))
}
