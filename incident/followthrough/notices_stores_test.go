package followthrough_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/capture"
	"github.com/firebreakhq/firebreak/incident/followthrough"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/storetest"
)

// storeKind names a store the tests run on.
type storeKind = storetest.Kind

// everyStore is the stores a test about what the store records runs on.
var everyStore = storetest.Every

// followStore is the whole incident store with follow-through's part.
type followStore interface {
	incident.Store
	followthrough.Store
}

// openStore returns a fresh store of the kind whose transactions hand their
// jobs to q (storetest.Open).
func openStore(t *testing.T, kind storeKind, clock incident.Clock, q *incidenttest.Queue) followStore {
	return storetest.Open[followStore](t, kind, clock, q)
}

// undeliverable is a chat that cannot reach some people privately, as
// when Slack refuses a DM to a deactivated user or rate-limits them.
type undeliverable struct {
	*incidenttest.Chat
	mu  sync.Mutex
	to  map[string]bool
	got map[string]int
}

func (u *undeliverable) Tell(ctx context.Context, to incident.ReplyTarget, n incident.Notice) error {
	u.mu.Lock()
	u.got[to.UserID]++
	down := u.to[to.UserID]
	u.mu.Unlock()
	if down {
		return incident.Errorf(incident.EUNAVAILABLE, "Slack could not open a DM with %s.", to.UserID)
	}
	return u.Chat.Tell(ctx, to, n)
}

// TestReminderToSeveralPeopleIsSentOnceToEach: an overdue follow-up tells
// its owner and the IC. When the IC cannot be told, the notice job fails
// and is retried, and the next checks schedule it again: the owner, told
// already, is not told again, however often that happens.
func TestReminderToSeveralPeopleIsSentOnceToEach(t *testing.T) {
	t.Parallel()
	for _, kind := range everyStore {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
			q := incidenttest.NewQueue()
			store := openStore(t, kind, clock, q)
			policy := incident.DefaultPolicy()
			policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout", Responders: []string{"U0ALICE"}}}
			c := incidenttest.NewChat()
			c.Word = bot.NoticeText
			chat := &undeliverable{Chat: c, to: map[string]bool{"U0DECL": true}, got: map[string]int{}}
			svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: c.Roles(), Policy: policy, Clock: clock})
			svc.RegisterJobs(q)
			ft := followthrough.New(followthrough.Config{Store: store, Core: svc, Chat: chat, Scheduler: q, Policy: policy, Clock: clock})
			svc.Use(ft.Feature())
			ft.RegisterJobs(q)
			capt := capture.New(capture.Config{Store: store, Chat: c, Notifier: svc, Policy: policy, Clock: clock})

			inc, _, err := svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P2, ServiceKey: "checkout",
				DeclaredBy: "U0DECL", ReplyTo: incident.ReplyTarget{UserID: "U0DECL"}})
			require.NoError(t, err)
			require.Empty(t, q.RunAll(t))
			due := time.Date(2026, 8, 11, 0, 0, 0, 0, time.UTC)
			_, err = capt.AddFollowUp(ctx, inc.ID, "U0DECL", "alert when pool use is over 80%", "U0OWNER", &due)
			require.NoError(t, err)
			require.Empty(t, q.RunAll(t))

			// Wednesday, overdue: the checks run every so often, each
			// time the IC's DM fails for good.
			clock.Set(time.Date(2026, 8, 12, 9, 30, 0, 0, time.UTC))
			for range 3 {
				_, err := ft.Sweep(ctx)
				require.NoError(t, err)
				q.RunDue(t, clock.Now())
				clock.Advance(time.Hour)
			}
			told := func(prefix string) int {
				c.Mu.Lock()
				defer c.Mu.Unlock()
				n := 0
				for _, r := range c.Replies {
					if strings.HasPrefix(r, prefix) {
						n++
					}
				}
				return n
			}
			chat.mu.Lock()
			require.Greater(t, chat.got["U0DECL"], 1, "the IC's notice is tried again")
			chat.mu.Unlock()
			require.Equal(t, 1, told("U0OWNER: :red_circle: Your follow-up"), "the owner is told once")

			// The IC reachable again: told once too, and the owner still once.
			chat.mu.Lock()
			chat.to = map[string]bool{}
			chat.mu.Unlock()
			for range 2 {
				_, err := ft.Sweep(ctx)
				require.NoError(t, err)
				q.RunDue(t, clock.Now())
				clock.Advance(time.Hour)
			}
			require.Equal(t, 1, told("U0DECL: :red_circle: A follow-up from "+inc.Key()))
			require.Equal(t, 1, told("U0OWNER: :red_circle: Your follow-up"))
		})
	}
}
