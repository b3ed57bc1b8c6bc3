package alerts_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/alerts"
	"github.com/firebreakhq/firebreak/incident/storetest"
)

// paceStore answers FindAlert after delay, or never (until the context
// ends) while hung is set.
type paceStore struct {
	alerts.Store
	delay time.Duration
	hung  *atomic.Bool
}

func (s paceStore) FindAlert(ctx context.Context, source, fingerprint string) (*incident.Alert, error) {
	if s.hung.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Store.FindAlert(ctx, source, fingerprint)
}

// deliverWithin sends body to h with a request deadline of d, as the
// alert webhooks' route gives, and returns the status and how long it took.
func deliverWithin(t *testing.T, h http.Handler, body []byte, d time.Duration) (int, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/webhooks/alertmanager", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(rec, req)
	return rec.Code, time.Since(start)
}

// A database that does not answer ends a delivery as quickly as any
// webhook's (3 s), though the alert webhooks have 25 s for a storm: the
// sender hears 5xx and delivers again, instead of waiting the whole 25 s.
func TestDeliveryEndsWhenTheDatabaseStopsAnswering(t *testing.T) {
	t.Parallel()
	hung := &atomic.Bool{}
	hung.Store(true)
	b := setupOn(t, storetest.Memory, options{store: func(s alerts.Store) alerts.Store { return paceStore{Store: s, hung: hung} }})
	code, took := deliverWithin(t, alertmanager(b), storm(t, "HighErrorRate", "firing", 5, b.clock.Now().Add(-time.Minute)), 25*time.Second)
	require.GreaterOrEqual(t, code, 500, "nothing stored is not answered below 5xx")
	require.Less(t, took, 5*time.Second, "a hung database is not waited on for the delivery's whole deadline")
	require.GreaterOrEqual(t, took, 3*time.Second-100*time.Millisecond, "each answer may take up to 3 s")
}

// A database that answers, slowly, keeps a storm going past 3 s: the
// limit is on one wait, not on the delivery.
func TestSlowDatabaseKeepsTheWholeDeadline(t *testing.T) {
	t.Parallel()
	b := setupOn(t, storetest.Memory, options{store: func(s alerts.Store) alerts.Store {
		return paceStore{Store: s, delay: 150 * time.Millisecond, hung: &atomic.Bool{}}
	}})
	code, took := deliverWithin(t, alertmanager(b), storm(t, "HighErrorRate", "firing", 30, b.clock.Now().Add(-time.Minute)), 25*time.Second)
	require.Equal(t, http.StatusOK, code)
	require.Greater(t, took, 4*time.Second, "the delivery took longer than one wait may")
	require.Equal(t, 30, stormStored(t, b, 30), "every alert stored")
}

// slowTxStore takes delay before each transaction.
type slowTxStore struct {
	alerts.Store
	delay time.Duration
}

func (s slowTxStore) Atomic(ctx context.Context, fn func(tx incident.Tx) error) error {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.Store.Atomic(ctx, fn)
}

// Transactions that each take a while, together longer than one step may,
// keep a storm going: the limit is on each step.
func TestSlowTransactionsKeepTheWholeDeadline(t *testing.T) {
	t.Parallel()
	b := setupOn(t, storetest.Memory, options{store: func(s alerts.Store) alerts.Store { return slowTxStore{Store: s, delay: 1200 * time.Millisecond} }})
	code, took := deliverWithin(t, alertmanager(b), storm(t, "HighErrorRate", "firing", 600, b.clock.Now().Add(-time.Minute)), 25*time.Second)
	require.Equal(t, http.StatusOK, code)
	require.Greater(t, took, 3*time.Second, "the delivery took longer than one step may")
	require.Equal(t, 600, stormStored(t, b, 600), "every alert stored")
}
