package alerts_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/alerts"
)

// writeCounter counts the writes the alerts service makes on its store
// outside a transaction, and the transactions it opens: what a delivery
// costs the database in commits.
type writeCounter struct {
	alerts.Store
	n atomic.Int64
}

func (s *writeCounter) Atomic(ctx context.Context, fn func(tx incident.Tx) error) error {
	s.n.Add(1)
	return s.Store.Atomic(ctx, fn)
}

func (s *writeCounter) AddAlert(ctx context.Context, a *incident.Alert) (*incident.Alert, error) {
	s.n.Add(1)
	return s.Store.AddAlert(ctx, a)
}

func (s *writeCounter) UpdateAlert(ctx context.Context, id int64, fn func(*incident.Alert) error) (*incident.Alert, error) {
	s.n.Add(1)
	return s.Store.UpdateAlert(ctx, id, fn)
}

func (s *writeCounter) AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error {
	s.n.Add(1)
	return s.Store.AddTimelineEvent(ctx, ev)
}

// setupCounting wires the alerts service over a writeCounter.
func setupCounting(t *testing.T, kind storeKind) (bundle, *writeCounter) {
	c := &writeCounter{}
	b := setupOn(t, kind, options{store: func(s alerts.Store) alerts.Store { c.Store = s; return c }})
	return b, c
}

// stormStored counts the alerts of a storm of n (storm) that are stored.
func stormStored(t *testing.T, b bundle, n int) int {
	t.Helper()
	stored := 0
	for i := range n {
		_, err := b.store.FindAlert(context.Background(), "alertmanager", fmt.Sprintf("f00d%012d", i))
		if err == nil {
			stored++
		} else {
			require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(err), "%v", err)
		}
	}
	return stored
}

// withDeadline bounds each delivery to d, as cmd/firebreak bounds every
// webhook delivery.
func withDeadline(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// TestAlertStormIsStoredInAFewTransactions: a storm's delivery of 600
// alerts of one rule is stored in a handful of transactions, not one (or
// more) per alert; Alertmanager's resend of it a moment later (an HA peer,
// a retry) writes nothing, and its resend after group_interval moves every
// alert's LastAt in a handful of writes too. One proposal, counting them
// all.
func TestAlertStormIsStoredInAFewTransactions(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b, writes := setupCounting(t, kind)
		h := alertmanager(b)
		const n = 600
		body := storm(t, "HighErrorRate", "firing", n, b.clock.Now().Add(-2*time.Minute))

		require.Equal(t, http.StatusOK, deliver(t, h, body))
		require.LessOrEqual(t, writes.n.Load(), int64(10), "writes to store %d alerts", n)
		require.Equal(t, n, stormStored(t, b, n))
		require.Empty(t, b.queue.RunAll(t))
		require.Contains(t, proposalOf(t, b), fmt.Sprintf("%d alerts of this rule are firing.", n))

		writes.n.Store(0)
		require.Equal(t, http.StatusOK, deliver(t, h, body), "the HA peer's copy")
		require.Zero(t, writes.n.Load(), "a resend of alerts just stored writes nothing")

		b.clock.Advance(5 * time.Minute)
		require.Equal(t, http.StatusOK, deliver(t, h, body), "the resend after group_interval")
		require.LessOrEqual(t, writes.n.Load(), int64(4), "writes to note the resend of %d alerts", n)
		for _, i := range []int{0, 1, n / 2, n - 1} {
			a, err := b.store.FindAlert(context.Background(), "alertmanager", fmt.Sprintf("f00d%012d", i))
			require.NoError(t, err)
			require.Equal(t, b.clock.Now(), a.LastAt, "alert %d was heard of", i)
			require.Equal(t, 1, a.Count)
		}
		require.Empty(t, b.queue.RunAll(t))
		require.Len(t, postsContaining(b.chat, "#checkout", "from this alert?"), 1)

		writes.n.Store(0)
		b.clock.Advance(5 * time.Minute)
		resolved := storm(t, "HighErrorRate", "resolved", n, b.clock.Now().Add(-12*time.Minute))
		require.Equal(t, http.StatusOK, deliver(t, h, resolved), "the storm resolves")
		require.LessOrEqual(t, writes.n.Load(), int64(4), "writes to resolve %d alerts", n)
		require.Equal(t, http.StatusOK, deliver(t, h, resolved), "and its resend")
		require.Empty(t, b.queue.RunAll(t))
		require.Contains(t, proposalOf(t, b), fmt.Sprintf("All %d alerts of this rule have resolved.", n))
		require.Len(t, postsContaining(b.chat, "#checkout", fmt.Sprintf("All %d alerts of *HighErrorRate", n)), 1, "said once")
	})
}

// refusingTx is a transaction whose store refuses one alert.
type refusingTx struct {
	txWithAlerts
	fingerprint string
}

func (t refusingTx) AddAlert(ctx context.Context, a *incident.Alert) (*incident.Alert, error) {
	if a.Fingerprint == t.fingerprint {
		return nil, incident.Errorf(incident.EINVALID, "refused")
	}
	return t.txWithAlerts.AddAlert(ctx, a)
}

// refusingStore is the alerts service's store, refusing one alert.
type refusingStore struct {
	alerts.Store
	fingerprint string
}

func (s refusingStore) Atomic(ctx context.Context, fn func(tx incident.Tx) error) error {
	return s.Store.Atomic(ctx, func(tx incident.Tx) error {
		return fn(refusingTx{txWithAlerts: tx.(txWithAlerts), fingerprint: s.fingerprint})
	})
}

// TestAlertTheStoreRefusesKeepsNoOtherOut: the store refuses one alert of a
// storm's delivery. The others are stored, and proposed once; the delivery
// is answered 500, so that Alertmanager delivers it again.
func TestAlertTheStoreRefusesKeepsNoOtherOut(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		bad := fmt.Sprintf("f00d%012d", 123)
		b := setupOn(t, kind, options{store: func(s alerts.Store) alerts.Store { return refusingStore{Store: s, fingerprint: bad} }})
		h := alertmanager(b)
		const n = 600
		body := storm(t, "HighErrorRate", "firing", n, b.clock.Now().Add(-2*time.Minute))
		for range 2 {
			require.Equal(t, http.StatusInternalServerError, deliver(t, h, body))
			require.Equal(t, n-1, stormStored(t, b, n))
		}
		require.Empty(t, b.queue.RunAll(t))
		require.Contains(t, proposalOf(t, b), fmt.Sprintf("%d alerts of this rule are firing.", n-1))
	})
}

// TestAlertStormUnderTheWebhookDeadline: a storm of 1000 alerts of one rule,
// delivered through a deadline of 3 seconds (what every webhook delivery
// had), is stored by its first delivery, on every store: one proposal.
func TestAlertStormUnderTheWebhookDeadline(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind, options{})
		h := withDeadline(alertmanager(b), 3*time.Second)
		const n = 1000
		body := storm(t, "HighErrorRate", "firing", n, time.Date(2026, 8, 7, 14, 20, 0, 0, time.UTC))
		start := time.Now()
		code := deliver(t, h, body)
		t.Logf("%s: %d alerts answered %d in %s", kind, n, code, time.Since(start).Round(time.Millisecond))
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, n, stormStored(t, b, n))
		start = time.Now()
		require.Equal(t, http.StatusOK, deliver(t, h, body), "Alertmanager's resend")
		t.Logf("%s: its resend answered in %s", kind, time.Since(start).Round(time.Millisecond))
		require.Empty(t, b.queue.RunAll(t))
		require.Len(t, postsContaining(b.chat, "#checkout", "from this alert?"), 1)
	})
}

// budgetStore is the alerts service's store whose transactions fail, as
// past a deadline, once a delivery has had its budget of them.
type budgetStore struct {
	alerts.Store
	left atomic.Int64
}

func (s *budgetStore) Atomic(ctx context.Context, fn func(tx incident.Tx) error) error {
	if s.left.Add(-1) < 0 {
		return fmt.Errorf("out of time: %w", context.DeadlineExceeded)
	}
	return s.Store.Atomic(ctx, fn)
}

// TestAlertStormRetriesMakeProgress: a storm of 1500 alerts of an auto rule
// whose delivery runs out of time after a few transactions, and is
// delivered again after each 5xx, as Alertmanager does. Each retry stores
// more than the one before (it spends no transaction on the alerts stored
// first), until the delivery is answered 200 with every alert stored, and
// one incident declared.
func TestAlertStormRetriesMakeProgress(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		budget := &budgetStore{}
		b := setupOn(t, kind, options{store: func(s alerts.Store) alerts.Store { budget.Store = s; return budget }})
		h := alertmanager(b)
		const n = 1500
		body := storm(t, "CheckoutDown", "firing", n, b.clock.Now().Add(-2*time.Minute))
		stored := 0
		for i := 1; ; i++ {
			budget.left.Store(3)
			code := deliver(t, h, body)
			now := stormStored(t, b, n)
			t.Logf("%s: delivery %d answered %d; %d of %d alerts stored", kind, i, code, now, n)
			if code == http.StatusOK {
				require.Equal(t, n, now)
				break
			}
			require.Equal(t, http.StatusInternalServerError, code)
			require.Greater(t, now, stored, "delivery %d stored nothing more", i)
			stored = now
			require.Less(t, i, 10)
		}
		budget.left.Store(1 << 30) // the jobs' time is their own
		require.Empty(t, b.queue.RunAll(t))
		list := incidents(t, b)
		require.Len(t, list, 1, "one incident for the storm")
		joined, err := b.store.ListAlerts(context.Background(), list[0].ID)
		require.NoError(t, err)
		require.Len(t, joined, n)
	})
}
