package alerts_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/alerts"
)

// staleFinds answers FindAlert with the alert as it was when armed, as a
// delivery that read it just before a concurrent one changed it.
type staleFinds struct {
	alerts.Store
	mu    sync.Mutex
	stale *incident.Alert
}

func (s *staleFinds) arm(a *incident.Alert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stale = a
}

func (s *staleFinds) FindAlert(ctx context.Context, source, fingerprint string) (*incident.Alert, error) {
	s.mu.Lock()
	stale := s.stale
	s.stale = nil
	s.mu.Unlock()
	if stale != nil {
		cp := *stale
		return &cp, nil
	}
	return s.Store.FindAlert(ctx, source, fingerprint)
}

// TestRefiringAlertDeclaresOnceUnderConcurrentDeliveries: an alert whose
// incident is closed resolves and fires again; two deliveries of that
// firing at once (two Alertmanager peers, two replicas of the bot) start
// one new episode, so the auto rule declares one new incident, not two.
func TestRefiringAlertDeclaresOnceUnderConcurrentDeliveries(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		stale := &staleFinds{}
		b := setupOn(t, kind, options{store: func(s alerts.Store) alerts.Store { stale.Store = s; return stale }})
		ctx := context.Background()
		h := alertmanager(b)

		require.Equal(t, http.StatusOK, deliver(t, h, fixture(t, "checkout_down_firing.json")))
		require.Empty(t, b.queue.RunAll(t))
		first := incidents(t, b)
		require.Len(t, first, 1)
		_, err := b.svc.AssignRole(ctx, first[0].ID, incident.RoleCommander, "U0ALICE", "U0ALICE")
		require.NoError(t, err)
		_, err = b.svc.SetStatus(ctx, first[0].ID, incident.StatusResolved, "U0ALICE", "restarted the pods")
		require.NoError(t, err)
		_, err = b.svc.SetStatus(ctx, first[0].ID, incident.StatusClosed, "U0ALICE", "")
		require.NoError(t, err)
		require.Empty(t, b.queue.RunAll(t))
		require.Equal(t, http.StatusOK, deliver(t, h, fixture(t, "checkout_down_resolved.json")))
		require.Empty(t, b.queue.RunAll(t))

		resolved, err := b.store.FindAlert(ctx, "alertmanager", "c0ffee0ddba11c0d")
		require.NoError(t, err)
		require.Equal(t, incident.AlertResolved, resolved.Status)
		refiring := fixture(t, "checkout_down_refiring.json")
		b.clock.Advance(20 * time.Minute)
		require.Equal(t, http.StatusOK, deliver(t, h, refiring), "one delivery starts the new episode")
		b.clock.Advance(time.Millisecond)
		stale.arm(resolved)
		require.Equal(t, http.StatusOK, deliver(t, h, refiring), "the other read the alert before it did")
		require.Empty(t, b.queue.RunAll(t))

		require.Len(t, incidents(t, b), 2, "the closed incident, and one new one")
		a, err := b.store.FindAlert(ctx, "alertmanager", "c0ffee0ddba11c0d")
		require.NoError(t, err)
		require.Equal(t, incident.AlertFiring, a.Status)
		require.Equal(t, incident.AlertDeclared, a.State)
		require.NotEqual(t, first[0].ID, a.IncidentID)
	})
}
