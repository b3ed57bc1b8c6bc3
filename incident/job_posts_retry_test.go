package incident_test

import (
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
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// errKilled stands for the process being killed (SIGKILL, a crash): the job
// stops where it is and its next attempt starts from the stored state.
var errKilled = errors.New("process killed")

// killingStore is the in-memory store with the process killed right after
// an incident write that fn picks has committed.
type killingStore struct {
	*incidenttest.MemStore
	mu   sync.Mutex
	kill func(*incident.Incident) bool
}

func (s *killingStore) UpdateIncident(ctx context.Context, id int64, fn func(*incident.Incident) ([]incident.TimelineEvent, error)) (*incident.Incident, error) {
	inc, err := s.MemStore.UpdateIncident(ctx, id, fn)
	s.mu.Lock()
	kill := s.kill
	if err == nil && kill != nil && kill(inc) {
		s.kill = nil
		s.mu.Unlock()
		panic(errKilled)
	}
	s.mu.Unlock()
	return inc, err
}

// killAfter arms the store to die once after a committed incident write
// that kill picks.
func (s *killingStore) killAfter(kill func(*incident.Incident) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kill = kill
}

// slackBundle is the core over a fake Slack (slackfake, spoken to with
// slack-go as in production), an in-memory store and the test queue.
type slackBundle struct {
	srv       *slackfake.Server
	svc       *incident.Service
	store     *killingStore
	queue     *incidenttest.Queue
	clock     *incidenttest.Clock
	decl      slackfake.User
	general   slackfake.Channel
	broadcast slackfake.Channel
}

func slackSetup(t *testing.T) slackBundle {
	t.Helper()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	srv := slackfake.New(slackfake.WithClock(clock.Now))
	t.Cleanup(srv.Close)
	decl := srv.AddUser(slackfake.User{Name: "dana", Email: "dana@example.com"})
	general := srv.AddChannel(slackfake.Channel{Name: "general", Members: []string{srv.BotUserID(), decl.ID}})
	broadcast := srv.AddChannel(slackfake.Channel{Name: "incidents", Members: []string{srv.BotUserID(), decl.ID}})
	store := &killingStore{MemStore: incidenttest.NewMemStore(clock)}
	q := incidenttest.NewQueue()
	store.SetScheduler(q)
	policy := incident.DefaultPolicy()
	policy.BroadcastChannel = "#incidents"
	chat := bot.NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), policy, bot.WithChatClock(clock))
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: chat.Roles(), Policy: policy, Clock: clock})
	svc.RegisterJobs(q)
	return slackBundle{srv: srv, svc: svc, store: store, queue: q, clock: clock, decl: decl, general: general, broadcast: broadcast}
}

// declare declares a P1 led by the declarer and sets its war room up.
func (b slackBundle) declare(t *testing.T) *incident.Incident {
	t.Helper()
	ctx := context.Background()
	inc, _, err := b.svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P1, DeclaredBy: b.decl.ID, Commander: b.decl.ID})
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	inc, err = b.svc.Get(ctx, inc.ID)
	require.NoError(t, err)
	require.NotEmpty(t, inc.ChannelID)
	require.NotEmpty(t, inc.BroadcastTS)
	return inc
}

// attempt runs one attempt of job as the job engine does, with the job's
// id and the attempt's number on the context, and reports a kill as
// errKilled.
func (b slackBundle) attempt(job incident.Job, id int64, n int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if r != errKilled {
				panic(r)
			}
			err = errKilled
		}
	}()
	return b.queue.Handler(job.Kind)(incident.WithJobRun(context.Background(), id, n, 3), job.Payload)
}

// texts returns the texts of the messages in a channel containing sub.
func (b slackBundle) texts(channel, sub string) []string {
	var out []string
	for _, m := range b.srv.Messages(channel) {
		if strings.Contains(m.Text, sub) {
			out = append(out, m.Text)
		}
	}
	return out
}

// dms returns the texts of the direct messages to user containing sub.
func (b slackBundle) dms(user, sub string) []string {
	var out []string
	for _, ch := range b.srv.Channels() {
		if ch.IM && len(ch.Members) > 1 && ch.Members[1] == user {
			out = append(out, b.texts(ch.ID, sub)...)
		}
	}
	return out
}

// rateLimitOnce answers the first chat.postMessage that match picks with
// Slack's 429 and a Retry-After of a second.
func rateLimitOnce(srv *slackfake.Server, match func(slackfake.Call) bool) *int {
	var mu sync.Mutex
	limited := new(int)
	srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		mu.Lock()
		defer mu.Unlock()
		if c.Method == "chat.postMessage" && *limited == 0 && match(c) {
			*limited++
			return slackfake.RateLimited(time.Second)
		}
		return nil
	})
	return limited
}

// TestMirrorRateLimitedIsRetried: Slack rate limits the mirror of a
// severity change to the shared broadcast channel (about one message a
// second per channel). The sync job fails, so the engine retries it after
// Slack's Retry-After, and the retry mirrors the change once, without
// saying it twice in the incident channel.
func TestMirrorRateLimitedIsRetried(t *testing.T) {
	t.Parallel()
	b := slackSetup(t)
	ctx := context.Background()
	inc := b.declare(t)
	_, err := b.svc.SetSeverity(ctx, inc.ID, incident.P2, b.decl.ID)
	require.NoError(t, err)
	limited := rateLimitOnce(b.srv, func(c slackfake.Call) bool { return c.Args.Get("channel") == b.broadcast.ID })
	job, ok := b.queue.Take(incident.JobSync)
	require.True(t, ok)

	err = b.attempt(job, 501, 1)
	require.Equal(t, 1, *limited, "the mirror was rate limited")
	require.Error(t, err, "the sync fails, so that it is retried")
	var ra interface{ RetryAfter() time.Duration }
	require.ErrorAs(t, err, &ra, "the retry waits as long as Slack asked")
	require.Empty(t, mirrored(b, inc), "nothing in the broadcast channel yet")

	require.NoError(t, b.attempt(job, 501, 2))
	require.Len(t, mirrored(b, inc), 1, "the change reaches the broadcast channel once")
	require.Contains(t, mirrored(b, inc)[0], "P2")
	said := 0
	for _, m := range b.srv.Messages(inc.ChannelID) {
		if strings.Contains(m.Text, "P2") && strings.Contains(m.Text, "P1") {
			said++
		}
	}
	require.Equal(t, 1, said, "said once in the incident channel: %q", b.texts(inc.ChannelID, ""))
}

// mirrored returns the broadcast channel's messages other than the
// incident's announcement.
func mirrored(b slackBundle, inc *incident.Incident) []string {
	var out []string
	for _, m := range b.srv.Messages(b.broadcast.ID) {
		if m.TS != inc.BroadcastTS {
			out = append(out, m.Text)
		}
	}
	return out
}

// TestNagClaimedThenKilledIsPostedOnRetry: the process dies right after
// the nag is claimed, before it is posted. The job's next attempt posts the
// reminder (once), instead of finding it claimed and dropping it.
func TestNagClaimedThenKilledIsPostedOnRetry(t *testing.T) {
	t.Parallel()
	b := slackSetup(t)
	inc := b.declare(t)
	b.clock.Advance(10*time.Minute + time.Second)
	job, ok := b.queue.Take(incident.JobNag)
	require.True(t, ok)
	b.store.killAfter(func(i *incident.Incident) bool { return i.NagCount == 1 })

	require.ErrorIs(t, b.attempt(job, 601, 1), errKilled)
	require.Empty(t, b.texts(inc.ChannelID, "needs a status update"), "killed before posting")
	b.clock.Advance(20 * time.Second)
	require.NoError(t, b.attempt(job, 601, 2))
	nags := b.texts(inc.ChannelID, "needs a status update")
	require.Len(t, nags, 1, "the reminder is posted once: %q", b.texts(inc.ChannelID, ""))

	// The ladder goes on from there: the next reminder is planned.
	require.Positive(t, b.queue.Pending(incident.JobNag))
}

// TestNagPostLandedButFailedIsPostedOnce: Slack posts the nag and answers
// 500. The retry finds the post instead of posting it again.
func TestNagPostLandedButFailedIsPostedOnce(t *testing.T) {
	t.Parallel()
	b := slackSetup(t)
	inc := b.declare(t)
	b.clock.Advance(10*time.Minute + time.Second)
	job, ok := b.queue.Take(incident.JobNag)
	require.True(t, ok)
	var once sync.Once
	b.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		var f *slackfake.Fault
		if c.Method == "chat.postMessage" && c.Args.Get("channel") == inc.ChannelID {
			once.Do(func() { f = slackfake.TookEffectThen(500) })
		}
		return f
	})
	require.Error(t, b.attempt(job, 602, 1))
	require.NoError(t, b.attempt(job, 602, 2))
	require.Len(t, b.texts(inc.ChannelID, "needs a status update"), 1, "%q", b.texts(inc.ChannelID, ""))
}

// TestSecondNagDirectMessageRateLimitedIsRetried: the second reminder is
// also sent to the IC directly; Slack rate limits that message. The job
// fails and its retry sends it, without posting the reminder in the
// channel a second time.
func TestSecondNagDirectMessageRateLimitedIsRetried(t *testing.T) {
	t.Parallel()
	b := slackSetup(t)
	inc := b.declare(t)
	b.clock.Advance(10*time.Minute + time.Second)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	require.Len(t, b.texts(inc.ChannelID, "needs a status update"), 1)
	b.clock.Advance(10 * time.Minute)
	job, ok := b.queue.Take(incident.JobNag)
	require.True(t, ok)
	limited := rateLimitOnce(b.srv, func(c slackfake.Call) bool {
		ch, ok := b.srv.Channel(c.Args.Get("channel"))
		return ok && ch.IM
	})

	err := b.attempt(job, 603, 1)
	require.Equal(t, 1, *limited, "the direct message was rate limited")
	require.Error(t, err, "the nag job fails, so that it is retried")
	require.NoError(t, b.attempt(job, 603, 2))
	require.Len(t, b.texts(inc.ChannelID, "needs a status update"), 2, "each reminder once in the channel: %q", b.texts(inc.ChannelID, ""))
	require.Len(t, b.dms(b.decl.ID, inc.Key()), 1, "the IC hears it directly once")
}

// TestSecondNagDirectMessageAfterASnoozeIsSent: the job engine postpones a
// job whose error carries Slack's Retry-After (a snooze), and runs it again
// as the next attempt (incident/jobs counts the snooze). That run still
// finds the nag its job claimed, and messages the IC.
func TestSecondNagDirectMessageAfterASnoozeIsSent(t *testing.T) {
	t.Parallel()
	b := slackSetup(t)
	inc := b.declare(t)
	b.clock.Advance(10*time.Minute + time.Second)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	b.clock.Advance(10 * time.Minute)
	job, ok := b.queue.Take(incident.JobNag)
	require.True(t, ok)
	rateLimitOnce(b.srv, func(c slackfake.Call) bool {
		ch, ok := b.srv.Channel(c.Args.Get("channel"))
		return ok && ch.IM
	})

	err := b.attempt(job, 604, 1)
	var ra interface{ RetryAfter() time.Duration }
	require.ErrorAs(t, err, &ra, "postponed for as long as Slack asked")
	b.clock.Advance(time.Second)
	require.NoError(t, b.attempt(job, 604, 2))
	require.Len(t, b.dms(b.decl.ID, inc.Key()), 1, "the IC hears it directly")
}

// TestSecondNagDirectMessageRefusedForGoodLetsTheRemindersGoOn: Slack
// refuses the direct message to the IC for good (the account is gone:
// user_not_found). Retrying it would only hold the next reminders back for hours:
// the refusal is logged, the job succeeds, and the next reminder is planned.
func TestSecondNagDirectMessageRefusedForGoodLetsTheRemindersGoOn(t *testing.T) {
	t.Parallel()
	b := slackSetup(t)
	inc := b.declare(t)
	b.clock.Advance(10*time.Minute + time.Second)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	b.clock.Advance(10 * time.Minute)
	job, ok := b.queue.Take(incident.JobNag)
	require.True(t, ok)
	b.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		if ch, ok := b.srv.Channel(c.Args.Get("channel")); ok && ch.IM && c.Method == "chat.postMessage" {
			return slackfake.SlackError("user_not_found")
		}
		return nil
	})

	require.NoError(t, b.attempt(job, 605, 1), "a refusal for good does not fail the job")
	require.Len(t, b.texts(inc.ChannelID, "needs a status update"), 2, "the reminder is in the channel")
	require.Equal(t, 1, b.queue.Pending(incident.JobNag), "the next reminder is planned")
}
