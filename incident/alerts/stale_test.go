package alerts_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/alerts"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// closeIncident has Alice lead, resolve and close an incident.
func closeIncident(t *testing.T, b bundle, id int64) {
	t.Helper()
	ctx := context.Background()
	_, err := b.svc.AssignRole(ctx, id, incident.RoleCommander, "U0ALICE", "U0ALICE")
	require.NoError(t, err)
	_, err = b.svc.SetStatus(ctx, id, incident.StatusResolved, "U0ALICE", "restarted the pods")
	require.NoError(t, err)
	_, err = b.svc.SetStatus(ctx, id, incident.StatusClosed, "U0ALICE", "")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
}

// allPosts counts every message the chat posted, in every channel.
func allPosts(c *incidenttest.Chat) int {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	n := 0
	for _, p := range c.Posts {
		n += len(p)
	}
	return n
}

// TestStaleFiringOfAnEpisodeOverChangesNothing: the firing of an episode
// that resolved, and whose incident was closed, arrives once more (the
// other Alertmanager of an HA pair, a retry, a replay: Alertmanager
// delivers at least once, and may deliver out of order). Its startsAt is
// the episode's, not a later one, so it is no new firing: no incident is
// declared, nothing is paged or posted, and the alert stays resolved.
func TestStaleFiringOfAnEpisodeOverChangesNothing(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind, options{})
		h := alertmanager(b)
		firing := fixture(t, "checkout_down_firing.json")
		first := declaredCheckoutDown(t, b, firing)
		closeIncident(t, b, first.ID)
		require.Equal(t, http.StatusOK, deliver(t, h, fixture(t, "checkout_down_resolved.json")))
		require.Empty(t, b.queue.RunAll(t))
		before := checkoutDown(t, b)
		require.Equal(t, incident.AlertResolved, before.Status)
		posts := allPosts(b.chat)

		b.clock.Advance(10 * time.Minute)
		require.Equal(t, http.StatusOK, deliver(t, h, firing), "the episode's firing, late")
		require.Empty(t, b.queue.RunAll(t))

		require.Len(t, incidents(t, b), 1, "no second incident is declared")
		after := checkoutDown(t, b)
		require.Equal(t, incident.AlertResolved, after.Status, "the alert stays resolved")
		require.Equal(t, first.ID, after.IncidentID)
		require.Equal(t, before.Count, after.Count)
		require.True(t, before.FirstAt.Equal(after.FirstAt), "no new episode")
		require.Equal(t, posts, allPosts(b.chat), "nothing is said")

		// A firing that began later is a new episode, as before.
		require.Equal(t, http.StatusOK, deliver(t, h, fixture(t, "checkout_down_refiring.json")))
		require.Empty(t, b.queue.RunAll(t))
		require.Len(t, incidents(t, b), 2, "the new firing declares its incident")
	})
}

// TestStaleFiringOfAResolvedAlertSaysNothing: the alert that started an
// open incident resolved; a late copy of its firing (the same startsAt)
// does not say it fires again, and leaves it resolved.
func TestStaleFiringOfAResolvedAlertSaysNothing(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind, options{})
		h := alertmanager(b)
		firing := fixture(t, "checkout_down_firing.json")
		inc := declaredCheckoutDown(t, b, firing)
		require.Equal(t, http.StatusOK, deliver(t, h, fixture(t, "checkout_down_resolved.json")))
		require.Empty(t, b.queue.RunAll(t))
		events := alertEvents(t, b, inc.ID)

		b.clock.Advance(time.Minute)
		require.Equal(t, http.StatusOK, deliver(t, h, firing), "the episode's firing, late")
		require.Empty(t, b.queue.RunAll(t))

		require.Equal(t, incident.AlertResolved, checkoutDown(t, b).Status)
		require.Empty(t, postsContaining(b.chat, inc.ChannelID, "is firing again"))
		require.Equal(t, events, alertEvents(t, b, inc.ID), "nothing on the timeline")
	})
}

// TestStaleResolvedLeavesTheNewEpisodeFiring: the resolution of an
// episode arrives again after the alert fired anew (a later startsAt):
// the firing alert stays firing and its incident hears nothing.
func TestStaleResolvedLeavesTheNewEpisodeFiring(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind, options{})
		h := alertmanager(b)
		first := declaredCheckoutDown(t, b, fixture(t, "checkout_down_firing.json"))
		closeIncident(t, b, first.ID)
		oldResolved := fixture(t, "checkout_down_resolved.json")
		require.Equal(t, http.StatusOK, deliver(t, h, oldResolved))
		require.Empty(t, b.queue.RunAll(t))
		b.clock.Advance(20 * time.Minute)
		require.Equal(t, http.StatusOK, deliver(t, h, fixture(t, "checkout_down_refiring.json")))
		require.Empty(t, b.queue.RunAll(t))
		firing := checkoutDown(t, b)
		require.Equal(t, incident.AlertFiring, firing.Status)
		require.NotEqual(t, first.ID, firing.IncidentID)
		second, err := b.store.GetIncident(context.Background(), firing.IncidentID)
		require.NoError(t, err)
		events := alertEvents(t, b, second.ID)

		b.clock.Advance(time.Minute)
		require.Equal(t, http.StatusOK, deliver(t, h, oldResolved), "the first episode's resolution, again")
		require.Empty(t, b.queue.RunAll(t))

		after := checkoutDown(t, b)
		require.Equal(t, incident.AlertFiring, after.Status, "the alert firing now stays firing")
		require.Nil(t, after.ResolvedAt)
		require.True(t, firing.StartsAt.Equal(after.StartsAt))
		require.Empty(t, postsContaining(b.chat, second.ChannelID, "has resolved"))
		require.Equal(t, events, alertEvents(t, b, second.ID), "nothing on the timeline")

		// Its own resolution still resolves it.
		ownResolved := strings.ReplaceAll(string(fixture(t, "checkout_down_refiring.json")), `"status": "firing"`, `"status": "resolved"`)
		require.Equal(t, http.StatusOK, deliver(t, h, []byte(ownResolved)))
		require.Empty(t, b.queue.RunAll(t))
		require.Equal(t, incident.AlertResolved, checkoutDown(t, b).Status)
		require.Len(t, postsContaining(b.chat, second.ChannelID, "has resolved"), 1)
	})
}

// TestAlertResolvedIsSaidOnceWhenSayingItFailed: the resolution of the
// alert that started an incident could not be said (the database blipped);
// Alertmanager is answered 500 and delivers again, and that delivery says
// it, once.
func TestAlertResolvedIsSaidOnceWhenSayingItFailed(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		fail := new(atomic.Int32)
		b := setupOn(t, kind, options{core: func(c alerts.Core) alerts.Core { return failingNotices{Core: c, fail: fail} }})
		h := alertmanager(b)
		inc := declaredCheckoutDown(t, b, fixture(t, "checkout_down_firing.json"))
		resolved := fixture(t, "checkout_down_resolved.json")

		fail.Store(1)
		require.Equal(t, http.StatusInternalServerError, deliver(t, h, resolved), "Alertmanager is asked to deliver again")
		require.Equal(t, incident.AlertFiring, checkoutDown(t, b).Status, "nothing of the resolution is kept")
		for range 2 {
			require.Equal(t, http.StatusOK, deliver(t, h, resolved))
			require.Empty(t, b.queue.RunAll(t))
		}
		require.Equal(t, incident.AlertResolved, checkoutDown(t, b).Status)
		require.Len(t, postsContaining(b.chat, inc.ChannelID, "has resolved"), 1, "the resolution is said once")
		require.Equal(t, 2, alertEvents(t, b, inc.ID), "started, and resolved, on the timeline")
	})
}

// TestAlertFiringAgainIsSaidOnceWhenSayingItFailed: the alert that started
// an open incident resolved and fires again (a later startsAt); saying so
// failed, and the redelivery says it, once.
func TestAlertFiringAgainIsSaidOnceWhenSayingItFailed(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		fail := new(atomic.Int32)
		b := setupOn(t, kind, options{core: func(c alerts.Core) alerts.Core { return failingNotices{Core: c, fail: fail} }})
		h := alertmanager(b)
		inc := declaredCheckoutDown(t, b, fixture(t, "checkout_down_firing.json"))
		require.Equal(t, http.StatusOK, deliver(t, h, fixture(t, "checkout_down_resolved.json")))
		require.Empty(t, b.queue.RunAll(t))
		refiring := fixture(t, "checkout_down_refiring.json")

		b.clock.Advance(time.Minute)
		fail.Store(1)
		require.Equal(t, http.StatusInternalServerError, deliver(t, h, refiring), "Alertmanager is asked to deliver again")
		for range 2 {
			require.Equal(t, http.StatusOK, deliver(t, h, refiring))
			require.Empty(t, b.queue.RunAll(t))
		}
		require.Equal(t, incident.AlertFiring, checkoutDown(t, b).Status)
		require.Len(t, postsContaining(b.chat, inc.ChannelID, "is firing again"), 1, "said once")
		require.Equal(t, 3, alertEvents(t, b, inc.ID), "started, resolved and firing again, on the timeline")
	})
}

// TestStaleFiringOfADismissedAlertProposesNothing: a proposal judged not
// an incident resolves; a late copy of its firing (the same startsAt)
// proposes nothing again, and the alert stays dismissed and resolved.
func TestStaleFiringOfADismissedAlertProposesNothing(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind, options{})
		ctx := context.Background()
		h := alertmanager(b)
		firing := fixture(t, "high_error_rate_firing.json")
		resolved := strings.ReplaceAll(string(firing), `"status": "firing"`, `"status": "resolved"`)
		require.Equal(t, http.StatusOK, deliver(t, h, firing))
		require.Empty(t, b.queue.RunAll(t))
		require.Len(t, postsContaining(b.chat, "#checkout", "Declare P1 from this alert?"), 1)
		a, err := b.store.FindAlert(ctx, "alertmanager", "5f1b4ac8e2a3d9c1")
		require.NoError(t, err)
		_, err = b.alrt.DismissAlert(ctx, a.ID, "U0ALICE")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, deliver(t, h, []byte(resolved)))
		require.Empty(t, b.queue.RunAll(t))

		b.clock.Advance(5 * time.Minute)
		require.Equal(t, http.StatusOK, deliver(t, h, firing), "the dismissed firing, late")
		require.Empty(t, b.queue.RunAll(t))

		require.Len(t, postsContaining(b.chat, "#checkout", "Declare P1 from this alert?"), 1, "not proposed again")
		after, err := b.store.GetAlert(ctx, a.ID)
		require.NoError(t, err)
		require.Equal(t, incident.AlertDismissed, after.State)
		require.Equal(t, incident.AlertResolved, after.Status)
	})
}
