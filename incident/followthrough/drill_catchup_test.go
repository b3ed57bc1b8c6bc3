package followthrough_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/followthrough"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestScheduledDrillPastItsCatchUpIsSkippedAndSaidOnce: a bot started (or
// back) more than the catch-up window after a drill's slot does not declare
// that period's drill: it says once, naming the drill and the next slot,
// that it was skipped. Within the window after the slot it is declared, as
// at the slot.
func TestScheduledDrillPastItsCatchUpIsSkippedAndSaidOnce(t *testing.T) {
	t.Parallel()
	clock := incidenttest.NewClock(time.Date(2026, 8, 12, 9, 0, 0, 0, time.UTC)) // two days after August's slot
	store := incidenttest.NewMemStore(clock)
	policy := incident.DefaultPolicy()
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout", Responders: []string{"U0ALICE"}}}
	policy.Drills.Schedule = []incident.DrillSchedule{{Name: "monthly-p2", Every: "monthly", Day: 10, At: 10 * time.Hour,
		Severity: incident.P2, Service: "checkout", Title: "Monthly drill: checkout returns 500s"}}
	c := incidenttest.NewChat()
	c.Word = bot.NoticeText
	q := incidenttest.NewQueue()
	store.SetScheduler(q)
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: c.Roles(), Policy: policy, Clock: clock})
	svc.RegisterJobs(q)
	logs := &lockedBuffer{}
	ft := followthrough.New(followthrough.Config{Store: store, Core: svc, Chat: c, Scheduler: q, Policy: policy, Clock: clock,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	svc.Use(ft.Feature())
	ft.RegisterJobs(q)

	ctx := context.Background()
	sweep := func() {
		t.Helper()
		_, err := ft.Sweep(ctx)
		require.NoError(t, err)
		require.Empty(t, q.RunDue(t, clock.Now()))
	}
	drills := func() int {
		list, err := store.ListIncidents(ctx, incident.IncidentFilter{})
		require.NoError(t, err)
		return len(list)
	}
	skipped := func(period string) int {
		return strings.Count(logs.String(), "scheduled drill monthly-p2 skipped for "+period)
	}

	sweep()
	sweep()
	require.Zero(t, drills(), "August's drill is not declared two days late")
	require.Equal(t, 1, skipped("2026-08"), "and that is said once:\n%s", logs.String())
	require.Contains(t, logs.String(), "the next is at 2026-09-10 10:00 UTC")

	clock.Set(time.Date(2026, 9, 10, 10, 30, 0, 0, time.UTC)) // back half an hour after September's slot
	sweep()
	require.Equal(t, 1, drills(), "within the catch-up window")
	require.Zero(t, skipped("2026-09"))

	clock.Set(time.Date(2026, 10, 10, 11, 6, 0, 0, time.UTC)) // an hour and the check's 5 minutes after October's
	sweep()
	require.Equal(t, 1, drills())
	require.Equal(t, 1, skipped("2026-10"))
	clock.Set(time.Date(2026, 10, 20, 9, 0, 0, 0, time.UTC))
	sweep()
	require.Equal(t, 1, skipped("2026-10"))
}
