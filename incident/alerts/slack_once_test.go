package alerts_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/alerts"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/jobs"
)

// slackBundle is the core and the alerts service posting through the bot's
// Slack client to the fake Slack, whose jobs are run by runJobs as the job
// engine runs them: each job with an id that is the same on every attempt.
type slackBundle struct {
	bundle
	srv      *slackfake.Server
	checkout string // the id of #checkout, where proposals go
	mu       sync.Mutex
	lastID   int64
}

func setupSlack(t *testing.T, kind storeKind, o options, srvOpts ...slackfake.Option) *slackBundle {
	t.Helper()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	srv := slackfake.New(append([]slackfake.Option{slackfake.WithClock(clock.Now)}, srvOpts...)...)
	t.Cleanup(srv.Close)
	alice := srv.AddUser(slackfake.User{Name: "alice", Email: "alice@example.com"})
	checkout := srv.AddChannel(slackfake.Channel{Name: "checkout", Members: []string{srv.BotUserID(), alice.ID}})
	srv.AddChannel(slackfake.Channel{Name: "incidents", Members: []string{srv.BotUserID(), alice.ID}})

	q := incidenttest.NewQueue()
	store := openStore(t, kind, clock, q)
	policy := incident.DefaultPolicy()
	alertPolicy(&policy)
	policy.Services["checkout"] = incident.ServicePolicy{Key: "checkout", Name: "Checkout", Channel: "#checkout",
		Responders: []string{alice.ID}, Runbook: "https://runbooks/checkout"}
	chat := bot.NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), policy, bot.WithChatClock(clock))
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: chat.Roles(), Policy: policy, Clock: clock,
		Render: bot.NoticeText})
	svc.RegisterJobs(q)
	var core alerts.Core = svc
	if o.core != nil {
		core = o.core(core)
	}
	var astore alerts.Store = store
	if o.store != nil {
		astore = o.store(astore)
	}
	alrt := alerts.New(alerts.Config{Store: astore, Core: core, Chat: chat, Scheduler: q, Policy: policy, Clock: clock, Render: bot.NoticeText})
	alrt.RegisterJobs(q)
	return &slackBundle{bundle: bundle{svc: svc, alrt: alrt, store: store, queue: q, clock: clock}, srv: srv, checkout: checkout.ID}
}

// runJobs runs the waiting jobs, and those they schedule, each attempt of a
// job under the same id, calling between after each failed attempt. A job
// that asks to run later runs again at once, without spending an attempt.
// It returns the errors of the jobs that failed for good.
func (b *slackBundle) runJobs(t *testing.T, between func(kind string, attempt int)) []error {
	t.Helper()
	var failed []error
	for snoozes := 0; ; {
		waiting := b.queue.Jobs()
		if len(waiting) == 0 {
			return failed
		}
		job, ok := b.queue.Take(waiting[0].Kind)
		require.True(t, ok)
		h := b.queue.Handler(job.Kind)
		require.NotNil(t, h, "a handler for %s", job.Kind)
		b.mu.Lock()
		b.lastID++
		id := b.lastID
		b.mu.Unlock()
		max := job.MaxAttempts
		if max <= 0 {
			max = jobs.DefaultMaxAttempts // the engine's
		}
		var err error
		for attempt := 1; attempt <= max; attempt++ {
			err = h(incident.WithJobRun(context.Background(), id, attempt, max), job.Payload)
			if err == nil {
				break
			}
			var timer interface{ Due() time.Time }
			if errors.As(err, &timer) {
				// A reminder's timer, not due by the test's clock: the
				// tests here are done before it is.
				err = nil
				break
			}
			var ra interface{ RetryAfter() time.Duration }
			if errors.As(err, &ra) && snoozes < 500 {
				snoozes++
				attempt--
				continue
			}
			if errors.Is(err, incident.ErrJobCancel) {
				break
			}
			if between != nil {
				between(job.Kind, attempt)
			}
		}
		if err != nil {
			failed = append(failed, err)
		}
	}
}

// messagesContaining returns the texts of the messages in a channel that
// contain sub.
func (b *slackBundle) messagesContaining(channelID, sub string) []string {
	var out []string
	for _, m := range b.srv.Messages(channelID) {
		if strings.Contains(m.Text, sub) {
			out = append(out, m.Text)
		}
	}
	return out
}

// tookEffectOnce makes the next call to method take effect, then answer
// 500, and lets every other call through.
func (b *slackBundle) tookEffectOnce(method string) {
	var mu sync.Mutex
	done := false
	b.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		mu.Lock()
		defer mu.Unlock()
		if c.Method != method || done {
			return nil
		}
		done = true
		return slackfake.TookEffectThen(500)
	})
}

// TestProposalRetriedAfterAmbiguousFailurePostsOnce: the proposal's post
// lands but Slack answers 500, and more alerts of the storm join the
// proposal before the job's retry. The retry finds the proposal it posted
// and redraws it with the group's count, instead of posting a second one.
func TestProposalRetriedAfterAmbiguousFailurePostsOnce(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupSlack(t, kind, options{})
		h := alertmanager(b.bundle)
		started := b.clock.Now().Add(-2 * time.Minute)

		require.Equal(t, 200, deliver(t, h, pods(t, "HighErrorRate", "firing", started, 0)))
		b.tookEffectOnce("chat.postMessage")
		failed := b.runJobs(t, func(kind string, attempt int) {
			if kind == alerts.JobPropose && attempt == 1 {
				b.clock.Advance(time.Second)
				require.Equal(t, 200, deliver(t, h, pods(t, "HighErrorRate", "firing", started, 0, 1, 2)))
			}
		})
		require.Empty(t, failed)
		proposals := b.messagesContaining(b.checkout, "from this alert?")
		require.Len(t, proposals, 1, "one proposal in #checkout: %q", proposals)
		require.Contains(t, proposals[0], "3 alerts of this rule are firing.")
		a, err := b.store.GetAlert(context.Background(), leaders(t, b.bundle, 1)[0])
		require.NoError(t, err)
		require.Equal(t, b.srv.Messages(b.checkout)[0].TS, a.MessageTS, "the proposal recorded is the one in the channel")
	})
}

// hungRecords is the alerts store whose next write of a proposal's ts
// fails, as a database that hangs until the write's deadline passes.
type hungRecords struct {
	alerts.Store
	mu    sync.Mutex
	fails int
}

func (s *hungRecords) UpdateAlert(ctx context.Context, id int64, fn func(*incident.Alert) error) (*incident.Alert, error) {
	return s.Store.UpdateAlert(ctx, id, func(a *incident.Alert) error {
		before := a.MessageTS
		if err := fn(a); err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if before == "" && a.MessageTS != "" && s.fails > 0 {
			s.fails--
			return errDown
		}
		return nil
	})
}

// TestProposalRecordedAfterTheDatabaseHangs: the proposal is posted, and
// the write that records its ts fails. The job is retried: it finds the
// proposal it posted and records it, so the proposal is redrawn as alerts
// join and says when they resolved; it is not left unknown, for a later
// delivery of the alert to propose it again.
func TestProposalRecordedAfterTheDatabaseHangs(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		hung := &hungRecords{fails: 1}
		b := setupSlack(t, kind, options{store: func(s alerts.Store) alerts.Store { hung.Store = s; return hung }})
		h := alertmanager(b.bundle)
		started := b.clock.Now().Add(-2 * time.Minute)

		require.Equal(t, 200, deliver(t, h, pods(t, "HighErrorRate", "firing", started, 0)))
		require.Empty(t, b.runJobs(t, nil))
		require.Zero(t, hung.fails, "the record failed once")
		proposals := b.messagesContaining(b.checkout, "from this alert?")
		require.Len(t, proposals, 1, "%q", proposals)
		a, err := b.store.GetAlert(context.Background(), leaders(t, b.bundle, 1)[0])
		require.NoError(t, err)
		require.Equal(t, b.srv.Messages(b.checkout)[0].TS, a.MessageTS, "the retry recorded the proposal it posted")

		b.clock.Advance(time.Minute)
		require.Equal(t, 200, deliver(t, h, pods(t, "HighErrorRate", "firing", started, 0, 1, 2)))
		require.Empty(t, b.runJobs(t, nil))
		require.Contains(t, b.messagesContaining(b.checkout, "from this alert?")[0], "3 alerts of this rule are firing.")
		b.clock.Advance(time.Minute)
		require.Equal(t, 200, deliver(t, h, pods(t, "HighErrorRate", "resolved", started, 0, 1, 2)))
		require.Empty(t, b.runJobs(t, nil))
		require.Len(t, b.messagesContaining(b.checkout, "All 3 alerts of *HighErrorRate"), 1)
		require.Len(t, b.messagesContaining(b.checkout, "from this alert?"), 1)
	})
}

// TestProposalResolvedNoteRetriedPostsOnce: the note that a proposed
// storm resolved lands, but Slack answers 500; the job's retry finds it
// and posts no second note.
func TestProposalResolvedNoteRetriedPostsOnce(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupSlack(t, kind, options{})
		h := alertmanager(b.bundle)
		started := b.clock.Now().Add(-2 * time.Minute)
		require.Equal(t, 200, deliver(t, h, pods(t, "HighErrorRate", "firing", started, 0, 1, 2)))
		require.Empty(t, b.runJobs(t, nil))

		b.clock.Advance(time.Minute)
		require.Equal(t, 200, deliver(t, h, pods(t, "HighErrorRate", "resolved", started, 0, 1, 2)))
		b.tookEffectOnce("chat.postMessage")
		failures := 0
		require.Empty(t, b.runJobs(t, func(string, int) { failures++ }))
		require.Equal(t, 1, failures, "the note's post failed once")
		require.Len(t, b.messagesContaining(b.checkout, "All 3 alerts of *HighErrorRate"), 1)
		require.Len(t, b.srv.Messages(b.checkout), 2, "the proposal and the note")
	})
}

// tookEffectOnceFor makes the first chat.postMessage of each text that
// contains one of subs take effect, then answer 500.
func (b *slackBundle) tookEffectOnceFor(subs ...string) {
	var mu sync.Mutex
	done := map[string]bool{}
	b.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		if c.Method != "chat.postMessage" {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		for _, sub := range subs {
			if strings.Contains(c.Args.Get("text"), sub) && !done[sub] {
				done[sub] = true
				return slackfake.TookEffectThen(500)
			}
		}
		return nil
	})
}

// TestAutoDeclaredAlertNoticesRetriedPostOnce: a rule declares an incident
// from an alert at once. The notice that the alert started it, and the one
// that it resolved, land although Slack answers 500; each is in the
// incident's channel once.
func TestAutoDeclaredAlertNoticesRetriedPostOnce(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupSlack(t, kind, options{})
		h := alertmanager(b.bundle)
		b.tookEffectOnceFor("Started by the alert", "The alert that started this has resolved")
		failures := 0
		count := func(string, int) { failures++ }

		require.Equal(t, 200, deliver(t, h, fixture(t, "checkout_down_firing.json")))
		require.Empty(t, b.runJobs(t, count))
		list := incidents(t, b.bundle)
		require.Len(t, list, 1)
		inc, err := b.store.GetIncident(context.Background(), list[0].ID)
		require.NoError(t, err)
		require.NotEmpty(t, inc.ChannelID)

		b.clock.Advance(5 * time.Minute)
		require.Equal(t, 200, deliver(t, h, fixture(t, "checkout_down_resolved.json")))
		require.Empty(t, b.runJobs(t, count))
		require.Equal(t, 2, failures, "each notice's post failed once")
		require.Len(t, b.messagesContaining(inc.ChannelID, "Started by the alert"), 1)
		require.Len(t, b.messagesContaining(inc.ChannelID, "The alert that started this has resolved"), 1)
	})
}

// requireNoRepeats fails when a channel holds the same message twice.
func (b *slackBundle) requireNoRepeats(t *testing.T) {
	t.Helper()
	for _, ch := range b.srv.Channels() {
		seen := map[string]int{}
		for _, m := range b.srv.Messages(ch.ID) {
			if m.Subtype == "" {
				seen[m.Text]++
			}
		}
		for text, n := range seen {
			require.Equal(t, 1, n, "said %d times in #%s: %q", n, ch.Name, text)
		}
	}
}

// down gives a storm's alerts fingerprints of their own, apart from those
// of another storm.
func down(body []byte) []byte {
	return bytes.ReplaceAll(body, []byte(`"fingerprint":"f00d`), []byte(`"fingerprint":"dead`))
}

// TestStormUnderAmbiguousFailuresPostsEachMessageOnce: two storms of twenty
// alerts, one proposed and one declared at once, fire and resolve while a
// fifth of every Slack call takes effect and then answers 500. Every
// message is in its channel once: one proposal and one note that its
// alerts resolved, one incident with the notices of its first alert.
func TestStormUnderAmbiguousFailuresPostsEachMessageOnce(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		for _, seed := range []uint64{1, 2, 3} {
			b := setupSlack(t, kind, options{}, slackfake.WithSeed(seed))
			h := alertmanager(b.bundle)
			started := b.clock.Now().Add(-2 * time.Minute)
			b.srv.TookEffectFraction("", 0.2, 500)

			require.Equal(t, 200, deliver(t, h, storm(t, "HighErrorRate", "firing", 10, started)))
			require.Equal(t, 200, deliver(t, h, down(storm(t, "CheckoutDown", "firing", 20, started))))
			require.Empty(t, b.runJobs(t, nil))
			require.Equal(t, 200, deliver(t, h, storm(t, "HighErrorRate", "firing", 20, started)))
			require.Empty(t, b.runJobs(t, nil))
			b.clock.Advance(10 * time.Minute)
			require.Equal(t, 200, deliver(t, h, storm(t, "HighErrorRate", "resolved", 20, started)))
			require.Equal(t, 200, deliver(t, h, down(storm(t, "CheckoutDown", "resolved", 20, started))))
			require.Empty(t, b.runJobs(t, nil))
			b.srv.ClearFaults()

			proposals := b.messagesContaining(b.checkout, "from this alert?")
			require.Len(t, proposals, 1, "seed %d: %q", seed, proposals)
			require.Contains(t, proposals[0], "All 20 alerts of this rule have resolved.")
			require.Len(t, b.messagesContaining(b.checkout, "All 20 alerts of *HighErrorRate"), 1, "seed %d", seed)
			list := incidents(t, b.bundle)
			require.Len(t, list, 1, "seed %d", seed)
			inc, err := b.store.GetIncident(context.Background(), list[0].ID)
			require.NoError(t, err)
			require.Len(t, b.messagesContaining(inc.ChannelID, "Started by the alert"), 1, "seed %d", seed)
			require.Len(t, b.messagesContaining(inc.ChannelID, "The alert that started this has resolved"), 1, "seed %d", seed)
			b.requireNoRepeats(t)
		}
	})
}
