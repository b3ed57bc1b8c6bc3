package paging_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/paging"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
)

// flakyStore is the in-memory store whose next transactions fail, as a
// database whose connection drops does.
type flakyStore struct {
	*incidenttest.MemStore
	fail atomic.Int32
}

func (s *flakyStore) Atomic(ctx context.Context, fn func(tx incident.Tx) error) error {
	if s.fail.Add(-1) >= 0 {
		return errors.New("connection reset by peer")
	}
	return s.MemStore.Atomic(ctx, fn)
}

// TestRetryAfterAnsweredEscalatesForReal: at the response target the bot
// reads PagerDuty's incident and finds it acknowledged, but recording the
// acknowledgement fails, so the re-page job is retried. Meanwhile the
// acknowledgement times out in PagerDuty and the incident is triggered
// again. The retry escalates it to the next level for real (the backup is
// notified), rather than counting the level it was at as an escalation.
func TestRetryAfterAnsweredEscalatesForReal(t *testing.T) {
	t.Parallel()
	var flaky *flakyStore
	b := httpSetupStore(t, 2, func(m *incidenttest.MemStore) bothStores {
		flaky = &flakyStore{MemStore: m}
		return flaky
	})
	ctx := context.Background()
	inc := b.declareP2(t)
	pages, err := b.store.ListPages(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, pages, 1)
	b.clock.Advance(10 * time.Minute)
	phone := pagerduty.New(pagerduty.Config{APIURL: b.pd.URL(), EventsURL: b.pd.EventsURL(), Token: b.pd.Token(), FromEmail: "bot@example.com"})
	_, err = phone.Acknowledge(ctx, pages[0], "bob@example.com")
	require.NoError(t, err)

	b.clock.Advance(51 * time.Minute)
	job, ok := b.queue.Take(paging.JobRepage)
	require.True(t, ok)
	flaky.fail.Store(1)
	require.Error(t, b.attempt(job, 901, 1), "recording the acknowledgement failed")
	require.Equal(t, "acknowledged", b.pd.Incidents()[0].Status, "not escalated")
	require.NotContains(t, b.pd.Incidents()[0].Notified, "PUCAROL")

	require.True(t, b.pd.Unacknowledge(pages[0].ExternalID), "the acknowledgement timed out")
	b.clock.Advance(20 * time.Second)
	require.NoError(t, b.attempt(job, 901, 2))
	b.queue.RunDue(t, b.clock.Now())

	pdInc := b.pd.Incidents()[0]
	require.Contains(t, pdInc.Notified, "PUCAROL", "the backup was woken")
	require.Equal(t, 2, pdInc.EscalationLevel)
	page, err := b.store.FindPage(ctx, "pagerduty", pages[0].DedupKey)
	require.NoError(t, err)
	require.Equal(t, []string{"Carol Poe"}, page.Assignees)
	events, err := b.store.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	var levels []int
	for _, ev := range events {
		if d, ok := ev.Payload.(incident.PagedData); ok && ev.Key && d.Repage == 1 {
			levels = append(levels, d.Level)
		}
	}
	require.Equal(t, []int{2}, levels, "one escalation, to level 2")
}
