package alerts_test

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// firstStartsAt is the startsAt of checkout_down_firing.json.
const firstStartsAt = "2026-08-07T14:20:31.123Z"

// startingAt returns the CheckoutDown firing with startsAt set to at, as
// Alertmanager sends a firing that began then.
func startingAt(t *testing.T, at string) []byte {
	t.Helper()
	body := fixture(t, "checkout_down_firing.json")
	out := bytes.Replace(body, []byte(`"startsAt": "`+firstStartsAt+`"`), []byte(`"startsAt": "`+at+`"`), 1)
	require.NotEqual(t, body, out, "the fixture's startsAt")
	return out
}

// declaredCheckoutDown delivers body, whose auto rule declares an incident
// at once, and returns that incident.
func declaredCheckoutDown(t *testing.T, b bundle, body []byte) *incident.Incident {
	t.Helper()
	require.Equal(t, http.StatusOK, deliver(t, alertmanager(b), body))
	require.Empty(t, b.queue.RunAll(t))
	list := incidents(t, b)
	require.Len(t, list, 1)
	return list[0]
}

// alertEvents counts the alert events on an incident's timeline.
func alertEvents(t *testing.T, b bundle, incidentID int64) int {
	t.Helper()
	events, err := b.store.ListTimeline(context.Background(), incidentID)
	require.NoError(t, err)
	n := 0
	for _, ev := range events {
		if ev.Kind == incident.EventAlert {
			n++
		}
	}
	return n
}

func checkoutDown(t *testing.T, b bundle) *incident.Alert {
	t.Helper()
	a, err := b.store.FindAlert(context.Background(), "alertmanager", "c0ffee0ddba11c0d")
	require.NoError(t, err)
	return a
}

// TestAlertResendSaysNothingAndNewFiringSaysOnce: Alertmanager resends a
// firing alert every group_interval, with the startsAt it began firing at;
// the resends tell the incident channel nothing, and only move the alert's
// LastAt. A firing with a later startsAt (the alert stopped and fired again,
// its resolution not sent, as with send_resolved: false) is said once,
// however often it is delivered. The startsAt has nanoseconds, which the
// stores do not keep.
func TestAlertResendSaysNothingAndNewFiringSaysOnce(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind, options{})
		h := alertmanager(b)
		firing := startingAt(t, "2026-08-07T14:20:31.123456789Z")
		inc := declaredCheckoutDown(t, b, firing)
		require.Len(t, postsContaining(b.chat, inc.ChannelID, "Started by the alert"), 1)
		require.Equal(t, 1, alertEvents(t, b, inc.ID))

		for range 3 {
			b.clock.Advance(5 * time.Minute)
			require.Equal(t, http.StatusOK, deliver(t, h, firing), "Alertmanager's resend after group_interval")
			require.Empty(t, b.queue.RunAll(t))
		}
		require.Empty(t, postsContaining(b.chat, inc.ChannelID, "fired again"), "a resend is not a new firing")
		require.Equal(t, 1, alertEvents(t, b, inc.ID), "nor a timeline event")
		a := checkoutDown(t, b)
		require.Equal(t, b.clock.Now(), a.LastAt, "the resend was seen")
		require.Equal(t, 1, a.Count, "one firing")
		require.Equal(t, time.Date(2026, 8, 7, 14, 20, 31, 123456000, time.UTC), a.StartsAt)
		require.Equal(t, incident.AlertFiring, a.Status)

		refiring := startingAt(t, "2026-08-07T14:40:00Z")
		b.clock.Advance(5 * time.Minute)
		for range 2 {
			require.Equal(t, http.StatusOK, deliver(t, h, refiring), "a new firing, and its resend")
			require.Empty(t, b.queue.RunAll(t))
		}
		require.Len(t, postsContaining(b.chat, inc.ChannelID, "fired again (2 times so far)"), 1)
		require.Len(t, postsContaining(b.chat, inc.ChannelID, "fired again"), 1)
		require.Equal(t, 2, alertEvents(t, b, inc.ID))
		a = checkoutDown(t, b)
		require.Equal(t, 2, a.Count)
		require.Equal(t, time.Date(2026, 8, 7, 14, 40, 0, 0, time.UTC), a.StartsAt)

		require.Equal(t, http.StatusOK, deliver(t, h, firing), "a late delivery of the earlier firing")
		require.Empty(t, b.queue.RunAll(t))
		require.Len(t, postsContaining(b.chat, inc.ChannelID, "fired again"), 1)
		require.Equal(t, time.Date(2026, 8, 7, 14, 40, 0, 0, time.UTC), checkoutDown(t, b).StartsAt, "the latest firing is kept")
	})
}

// TestAlertNewFiringFromTwoPeersAtOnceSaysOnce: both Alertmanager peers of
// an HA pair deliver a new firing at the same moment; the channel hears it
// once, each time it fires again.
func TestAlertNewFiringFromTwoPeersAtOnceSaysOnce(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind, options{})
		h := alertmanager(b)
		inc := declaredCheckoutDown(t, b, fixture(t, "checkout_down_firing.json"))

		const rounds = 5
		for i := range rounds {
			b.clock.Advance(10 * time.Minute)
			body := startingAt(t, b.clock.Now().Format(time.RFC3339Nano))
			var wg sync.WaitGroup
			codes := make([]int, 2)
			start := make(chan struct{})
			for peer := range codes {
				wg.Go(func() {
					<-start
					codes[peer] = deliver(t, h, body)
				})
			}
			close(start)
			wg.Wait()
			require.Equal(t, []int{http.StatusOK, http.StatusOK}, codes)
			require.Empty(t, b.queue.RunAll(t))
			require.Len(t, postsContaining(b.chat, inc.ChannelID, "fired again"), i+1, "round %d", i+1)
		}
		require.Equal(t, 1+rounds, alertEvents(t, b, inc.ID))
		require.Equal(t, 1+rounds, checkoutDown(t, b).Count)
	})
}

// TestAlertWithoutStartsAtCountsEveryDelivery: a sender that gives no start
// time cannot tell a resend from a new firing, so each firing delivery is
// counted and said, as before startsAt was compared.
func TestAlertWithoutStartsAtCountsEveryDelivery(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind, options{})
		ctx := context.Background()
		ev := incident.AlertEvent{Source: "alertmanager", Fingerprint: "c0ffee0ddba11c0d", Status: incident.AlertFiring,
			Title: "CheckoutDown", Labels: map[string]string{"alertname": "CheckoutDown", "service": "checkout"}}
		require.NoError(t, b.alrt.HandleAlert(ctx, ev))
		require.Empty(t, b.queue.RunAll(t))
		list := incidents(t, b)
		require.Len(t, list, 1)
		inc := list[0]
		require.True(t, checkoutDown(t, b).StartsAt.IsZero())

		for range 2 {
			b.clock.Advance(5 * time.Minute)
			require.NoError(t, b.alrt.HandleAlert(ctx, ev))
			require.Empty(t, b.queue.RunAll(t))
		}
		require.Len(t, postsContaining(b.chat, inc.ChannelID, "fired again (2 times so far)"), 1)
		require.Len(t, postsContaining(b.chat, inc.ChannelID, "fired again (3 times so far)"), 1)
		require.Equal(t, 3, alertEvents(t, b, inc.ID))
		a := checkoutDown(t, b)
		require.Equal(t, 3, a.Count)
		require.True(t, a.StartsAt.IsZero())
	})
}

// TestAlertStoredWithoutStartsAtAdoptsTheKnownFiring: an alert stored
// before start times were kept has none; the first delivery that gives one,
// for the firing the bot already knows (it began before the alert was last
// heard of), is adopted silently, and a later firing is still said once.
func TestAlertStoredWithoutStartsAtAdoptsTheKnownFiring(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind, options{})
		h := alertmanager(b)
		ctx := context.Background()
		firing := startingAt(t, "2026-08-07T14:20:31Z")
		inc := declaredCheckoutDown(t, b, firing)
		_, err := b.store.UpdateAlert(ctx, checkoutDown(t, b).ID, func(x *incident.Alert) error {
			x.StartsAt = time.Time{}
			return nil
		})
		require.NoError(t, err)
		require.True(t, checkoutDown(t, b).StartsAt.IsZero(), "stored as before start times were kept")

		for range 2 {
			b.clock.Advance(5 * time.Minute)
			require.Equal(t, http.StatusOK, deliver(t, h, firing), "the resend of the firing already known")
			require.Empty(t, b.queue.RunAll(t))
		}
		require.Empty(t, postsContaining(b.chat, inc.ChannelID, "fired again"))
		require.Equal(t, 1, alertEvents(t, b, inc.ID))
		a := checkoutDown(t, b)
		require.Equal(t, 1, a.Count)
		require.Equal(t, time.Date(2026, 8, 7, 14, 20, 31, 0, time.UTC), a.StartsAt, "the start time is adopted")
		require.Equal(t, b.clock.Now(), a.LastAt)

		b.clock.Advance(5 * time.Minute)
		refiring := startingAt(t, b.clock.Now().Add(-time.Minute).Format(time.RFC3339Nano))
		require.Equal(t, http.StatusOK, deliver(t, h, refiring), "a firing that began after the alert was last heard of")
		require.Empty(t, b.queue.RunAll(t))
		require.Len(t, postsContaining(b.chat, inc.ChannelID, "fired again"), 1)
		require.Equal(t, 2, checkoutDown(t, b).Count)
	})
}
