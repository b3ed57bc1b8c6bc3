package alerts_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestAlertResolvedBeforeItsFiringIsNotDeclared: Alertmanager (an HA pair,
// or a retry) delivers the resolution of CheckoutDown, an auto rule, before
// its firing. The firing, late, carries the same startsAt, or an earlier
// one: an episode already over, which declares nothing and pages nobody. A
// firing with a later startsAt is the alert firing again, and declares.
func TestAlertResolvedBeforeItsFiringIsNotDeclared(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind, options{})
		h := alertmanager(b)
		require.Equal(t, http.StatusOK, deliver(t, h, fixture(t, "checkout_down_resolved.json")))
		require.Empty(t, b.queue.RunAll(t))
		a := checkoutDown(t, b)
		require.Equal(t, incident.AlertResolved, a.Status, "the resolution is kept")
		require.Equal(t, time.Date(2026, 8, 7, 14, 20, 31, 123000000, time.UTC), a.StartsAt, "with the sender's startsAt")
		require.Equal(t, 0, a.Count, "it never fired here")
		require.Zero(t, a.IncidentID)

		b.clock.Advance(30 * time.Second)
		require.Equal(t, http.StatusOK, deliver(t, h, fixture(t, "checkout_down_firing.json")), "the late firing of the same episode")
		require.Equal(t, http.StatusOK, deliver(t, h, startingAt(t, "2026-08-07T14:10:00Z")), "a firing that began earlier still")
		require.Empty(t, b.queue.RunAll(t))
		require.Empty(t, incidents(t, b), "an alert whose resolution was delivered declared (and paged)")
		require.Equal(t, incident.AlertResolved, checkoutDown(t, b).Status)

		b.clock.Advance(10 * time.Minute)
		require.Equal(t, http.StatusOK, deliver(t, h, startingAt(t, "2026-08-07T14:33:00Z")), "the alert fires again")
		require.Empty(t, b.queue.RunAll(t))
		list := incidents(t, b)
		require.Len(t, list, 1, "a new firing declares")
		a = checkoutDown(t, b)
		require.Equal(t, incident.AlertFiring, a.Status)
		require.Equal(t, 1, a.Count)
		require.Equal(t, list[0].ID, a.IncidentID)
		require.Len(t, postsContaining(b.chat, list[0].ChannelID, "Started by the alert"), 1)
	})
}

// TestAlertResolvedBeforeItsFiringIsNotProposed: the same for a rule that
// asks first: the late firing posts no proposal, and neither does a
// redelivery of the resolution.
func TestAlertResolvedBeforeItsFiringIsNotProposed(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind, options{})
		h := alertmanager(b)
		started := b.clock.Now().Add(-5 * time.Minute)
		resolved := pods(t, "HighErrorRate", "resolved", started, 0)
		for range 2 {
			require.Equal(t, http.StatusOK, deliver(t, h, resolved))
			require.Empty(t, b.queue.RunAll(t))
		}
		b.clock.Advance(time.Second)
		require.Equal(t, http.StatusOK, deliver(t, h, pods(t, "HighErrorRate", "firing", started, 0)))
		require.Empty(t, b.queue.RunAll(t))
		require.Empty(t, b.chat.PostsIn("#checkout"), "nothing to decide: %q", b.chat.PostsIn("#checkout"))

		// Another pod of the rule fires: it leads a proposal of its own,
		// which the resolved alert does not join.
		require.Equal(t, http.StatusOK, deliver(t, h, pods(t, "HighErrorRate", "firing", started, 1)))
		require.Empty(t, b.queue.RunAll(t))
		require.Len(t, postsContaining(b.chat, "#checkout", "from this alert?"), 1)
		require.Len(t, leaders(t, b, 2), 2)
	})
}
