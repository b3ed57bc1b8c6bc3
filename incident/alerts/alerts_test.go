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
	"github.com/firebreakhq/firebreak/incident/storetest"
)

var errDown = incident.Errorf(incident.EUNAVAILABLE, "The store is down.")

// failingDeclares fails the core's next declares, as when the database
// blips while the alert's incident is being declared.
type failingDeclares struct {
	alerts.Core
	fail *atomic.Int32
}

func (f failingDeclares) Declare(ctx context.Context, in incident.DeclareInput) (*incident.Incident, bool, error) {
	if f.fail.Add(-1) >= 0 {
		return nil, false, errDown
	}
	return f.Core.Declare(ctx, in)
}

// TestAlertFailedOnceIsDeclaredOnRedelivery: when the first delivery of an
// auto rule's alert stored the alert but could not declare its incident,
// Alertmanager is answered 500 and delivers again; that delivery declares
// it, once.
func TestAlertFailedOnceIsDeclaredOnRedelivery(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		fail := new(atomic.Int32)
		b := setupOn(t, kind, options{core: func(c alerts.Core) alerts.Core { return failingDeclares{Core: c, fail: fail} }})
		h := alertmanager(b)
		body := fixture(t, "checkout_down_firing.json")

		fail.Store(1)
		require.Equal(t, http.StatusInternalServerError, deliver(t, h, body), "Alertmanager is asked to deliver again")
		require.Empty(t, incidents(t, b))

		require.Equal(t, http.StatusOK, deliver(t, h, body), "Alertmanager's retry")
		require.Equal(t, http.StatusOK, deliver(t, h, body), "and its repeat")
		require.Empty(t, b.queue.RunAll(t))
		list := incidents(t, b)
		require.Len(t, list, 1, "the alert declares its incident, once")
		require.Equal(t, "bot", list[0].DeclaredBy)
		a, err := b.store.FindAlert(context.Background(), "alertmanager", "c0ffee0ddba11c0d")
		require.NoError(t, err)
		require.Equal(t, incident.AlertDeclared, a.State)
		require.Equal(t, list[0].ID, a.IncidentID)
	})
}

// TestAlertFailedOnceIsProposedOnRedelivery: the same for a rule that
// proposes: the retry posts the proposal, once.
func TestAlertFailedOnceIsProposedOnRedelivery(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b, f := setupFaults(t, kind)
		h := alertmanager(b)
		body := fixture(t, "high_error_rate_firing.json")

		f.proposals = 1 // in the transaction that stores the alert
		require.Equal(t, http.StatusInternalServerError, deliver(t, h, body))
		require.Empty(t, b.queue.RunAll(t))
		require.Empty(t, postsContaining(b.chat, "#checkout", "from this alert?"))

		require.Equal(t, http.StatusOK, deliver(t, h, body), "Alertmanager's retry")
		require.Empty(t, b.queue.RunAll(t))
		require.Equal(t, http.StatusOK, deliver(t, h, body), "and its repeat")
		require.Empty(t, b.queue.RunAll(t))
		require.Len(t, postsContaining(b.chat, "#checkout", "Declare P1 from this alert?"), 1, "proposed once")
	})
}

// TestAlertTitleWithControlCharactersDeclares: an alert whose summary holds
// terminal colours (which an incident's title refuses) is declared, its
// title without them, rather than failing the declare on every delivery.
func TestAlertTitleWithControlCharactersDeclares(t *testing.T) {
	t.Parallel()
	b := setupOn(t, storetest.Memory, options{})
	body := strings.Replace(string(fixture(t, "checkout_down_firing.json")), `"summary": "checkout answers no health check", "runbook_url"`,
		`"summary": "\u001b[31mcheckout answers\tno health check\u001b[0m", "runbook_url"`, 1)
	require.Equal(t, http.StatusOK, deliver(t, alertmanager(b), []byte(body)))
	require.Empty(t, b.queue.RunAll(t))
	list := incidents(t, b)
	require.Len(t, list, 1)
	require.Equal(t, "CheckoutDown: [31mcheckout answers no health check [0m", list[0].Title)
}

// TestProposedAlertThatResolvesSaysSo: an alert proposed and not decided
// that resolves is said to have resolved in the proposal's channel, once
// however often Alertmanager delivers the resolution, so nobody declares a
// P1 and pages for it unknowingly; one that resolves before its proposal
// went out is not proposed at all.
func TestProposedAlertThatResolvesSaysSo(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind, options{})
		h := alertmanager(b)
		firing := fixture(t, "high_error_rate_firing.json")
		resolved := strings.ReplaceAll(string(firing), `"status": "firing"`, `"status": "resolved"`)
		require.NotEqual(t, string(firing), resolved)

		require.Equal(t, http.StatusOK, deliver(t, h, firing))
		require.Empty(t, b.queue.RunAll(t))
		require.Len(t, postsContaining(b.chat, "#checkout", "Declare P1 from this alert?"), 1)
		b.clock.Advance(4 * time.Minute)
		for range 2 {
			require.Equal(t, http.StatusOK, deliver(t, h, []byte(resolved)))
			require.Empty(t, b.queue.RunAll(t))
		}
		said := postsContaining(b.chat, "#checkout", "resolved after 4m00s, before anyone decided")
		require.Len(t, said, 1, "said once")
		require.Contains(t, said[0], "Declare P1 from the proposal only if it still matters")

		// A second alert that resolves before its proposal job runs.
		other := strings.ReplaceAll(string(firing), `"fingerprint": "`, `"fingerprint": "f`)
		require.Equal(t, http.StatusOK, deliver(t, h, []byte(other)))
		require.Equal(t, http.StatusOK, deliver(t, h, []byte(strings.ReplaceAll(other, `"status": "firing"`, `"status": "resolved"`))))
		require.Empty(t, b.queue.RunAll(t))
		require.Len(t, postsContaining(b.chat, "#checkout", "from this alert?"), 1, "the resolved one is not proposed")
	})
}

// failingNotes fails the next notes that a proposed alert resolved.
type failingNotes struct {
	incident.Scheduler
	fail *atomic.Int32
}

func (f failingNotes) Schedule(ctx context.Context, job incident.Job) (bool, error) {
	if job.Kind == alerts.JobProposalResolved && f.fail.Add(-1) >= 0 {
		return false, errDown
	}
	return f.Scheduler.Schedule(ctx, job)
}

// TestProposedAlertResolvedIsSaidAfterAFailedDelivery: when the delivery
// that resolved a proposed alert could not schedule its note, Alertmanager
// is asked to deliver again, and that delivery, which finds the alert
// already resolved, says it, once.
func TestProposedAlertResolvedIsSaidAfterAFailedDelivery(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		fail := new(atomic.Int32)
		b := setupOn(t, kind, options{sched: func(s incident.Scheduler) incident.Scheduler { return failingNotes{Scheduler: s, fail: fail} }})
		h := alertmanager(b)
		firing := fixture(t, "high_error_rate_firing.json")
		resolved := []byte(strings.ReplaceAll(string(firing), `"status": "firing"`, `"status": "resolved"`))
		require.Equal(t, http.StatusOK, deliver(t, h, firing))
		require.Empty(t, b.queue.RunAll(t))

		fail.Store(1)
		require.Equal(t, http.StatusInternalServerError, deliver(t, h, resolved), "Alertmanager is asked to deliver again")
		require.Empty(t, b.queue.RunAll(t))
		require.Empty(t, postsContaining(b.chat, "#checkout", "before anyone decided"))
		for range 2 {
			require.Equal(t, http.StatusOK, deliver(t, h, resolved))
			require.Empty(t, b.queue.RunAll(t))
		}
		require.Len(t, postsContaining(b.chat, "#checkout", "before anyone decided"), 1, "said once")
	})
}

// failingNotices fails the core's next notices, as when the database blips
// right after the alert's incident was declared.
type failingNotices struct {
	alerts.Core
	fail *atomic.Int32
}

func (f failingNotices) Notify(ctx context.Context, inc *incident.Incident, notices ...incident.Notice) error {
	if f.fail.Add(-1) >= 0 {
		return errDown
	}
	return f.Core.Notify(ctx, inc, notices...)
}

func (f failingNotices) NotifyOn(ctx context.Context, sched incident.Scheduler, inc *incident.Incident, notices ...incident.Notice) error {
	if f.fail.Add(-1) >= 0 {
		return errDown
	}
	return f.Core.NotifyOn(ctx, sched, inc, notices...)
}

// TestAlertDeclaredButNotSaidIsSaidOnRedelivery: the first delivery of an
// auto rule's alert declared its incident, but saying so failed. Alertmanager
// is answered 500 and delivers again; that delivery finds the incident
// declared and says "Started by the alert" in its channel, once.
func TestAlertDeclaredButNotSaidIsSaidOnRedelivery(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		fail := new(atomic.Int32)
		b := setupOn(t, kind, options{core: func(c alerts.Core) alerts.Core { return failingNotices{Core: c, fail: fail} }})
		h := alertmanager(b)
		body := fixture(t, "checkout_down_firing.json")

		fail.Store(1)
		require.Equal(t, http.StatusInternalServerError, deliver(t, h, body), "Alertmanager is asked to deliver again")
		require.Equal(t, http.StatusOK, deliver(t, h, body), "Alertmanager's retry")
		require.Equal(t, http.StatusOK, deliver(t, h, body), "and its repeat")
		require.Empty(t, b.queue.RunAll(t))
		list := incidents(t, b)
		require.Len(t, list, 1, "the alert declares its incident, once")
		require.Len(t, postsContaining(b.chat, list[0].ChannelID, "Started by the alert"), 1, "the incident says what started it, once")
		require.Equal(t, 1, alertEvents(t, b, list[0].ID), "one timeline event says so")
	})
}
