package alerts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/alerts"
)

// faults change what the alerts service's store does, on the store and on
// its transactions alike.
type faults struct {
	mu sync.Mutex
	// found, when set, is called after each FindAlertGroup.
	found func()
	// lines fails the next timeline lines saying an alert joined.
	lines int
	// proposals fails the next proposals scheduled.
	proposals int
}

func (f *faults) take(n *int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *n > 0 {
		*n--
		return true
	}
	return false
}

func (f *faults) afterFind() {
	f.mu.Lock()
	found := f.found
	f.mu.Unlock()
	if found != nil {
		found()
	}
}

func (f *faults) addLine(ctx context.Context, ev *incident.TimelineEvent, add func(context.Context, *incident.TimelineEvent) error) error {
	if strings.Contains(ev.SourceID, ":joined:") && f.take(&f.lines) {
		return errDown
	}
	return add(ctx, ev)
}

// faultStore is the alerts service's store with faults.
type faultStore struct {
	alerts.Store
	f *faults
}

func (s faultStore) FindAlertGroup(ctx context.Context, rule, service string, since time.Time) (*incident.Alert, error) {
	a, err := s.Store.FindAlertGroup(ctx, rule, service, since)
	s.f.afterFind()
	return a, err
}

func (s faultStore) AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error {
	return s.f.addLine(ctx, ev, s.Store.AddTimelineEvent)
}

func (s faultStore) Atomic(ctx context.Context, fn func(tx incident.Tx) error) error {
	return s.Store.Atomic(ctx, func(tx incident.Tx) error {
		all, ok := tx.(txWithAlerts)
		if !ok {
			return fmt.Errorf("the transaction %T keeps no alerts", tx)
		}
		return fn(faultTx{txWithAlerts: all, f: s.f})
	})
}

type txWithAlerts interface {
	incident.Tx
	incident.AlertStore
}

// faultTx is a transaction of faultStore.
type faultTx struct {
	txWithAlerts
	f *faults
}

func (t faultTx) FindAlertGroup(ctx context.Context, rule, service string, since time.Time) (*incident.Alert, error) {
	a, err := t.txWithAlerts.FindAlertGroup(ctx, rule, service, since)
	t.f.afterFind()
	return a, err
}

func (t faultTx) AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error {
	return t.f.addLine(ctx, ev, t.txWithAlerts.AddTimelineEvent)
}

func (t faultTx) Schedule(ctx context.Context, job incident.Job) (bool, error) {
	if job.Kind == alerts.JobPropose && t.f.take(&t.f.proposals) {
		return false, errDown
	}
	return t.txWithAlerts.Schedule(ctx, job)
}

// setupFaults wires the alerts service over a faultStore.
func setupFaults(t *testing.T, kind storeKind) (bundle, *faults) {
	f := &faults{}
	b := setupOn(t, kind, options{store: func(s alerts.Store) alerts.Store { return faultStore{Store: s, f: f} }})
	return b, f
}

// pods is one Alertmanager delivery (webhook payload version 4) of the
// alerts of alertname for the pods numbered, all with status, as storm
// words them.
func pods(t *testing.T, alertname, status string, startsAt time.Time, numbers ...int) []byte {
	t.Helper()
	all := storm(t, alertname, status, 1+max(0, maxOf(numbers)), startsAt)
	var payload map[string]any
	require.NoError(t, json.Unmarshal(all, &payload))
	list := payload["alerts"].([]any)
	var picked []any
	for _, n := range numbers {
		picked = append(picked, list[n])
	}
	payload["alerts"] = picked
	body, err := json.Marshal(payload)
	require.NoError(t, err)
	return body
}

func maxOf(ns []int) int {
	m := 0
	for _, n := range ns {
		m = max(m, n)
	}
	return m
}

// deliverAtOnce delivers the bodies at the same instant, each after the
// others looked for their alert's group: each delivery's look waits until
// every one has looked, or a moment has passed.
func deliverAtOnce(t *testing.T, b bundle, f *faults, bodies ...[]byte) {
	t.Helper()
	var (
		mu     sync.Mutex
		looked int
		all    = make(chan struct{})
	)
	f.mu.Lock()
	f.found = func() {
		mu.Lock()
		looked++
		if looked == len(bodies) {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(300 * time.Millisecond):
		}
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.found = nil
		f.mu.Unlock()
	}()
	h := alertmanager(b)
	codes := make([]int, len(bodies))
	var wg sync.WaitGroup
	for i, body := range bodies {
		wg.Go(func() { codes[i] = deliver(t, h, body) })
	}
	wg.Wait()
	for _, code := range codes {
		require.Equal(t, http.StatusOK, code)
	}
}

// leaders returns the alerts of a storm (pods 0 to n-1) that lead a group.
func leaders(t *testing.T, b bundle, n int) []int64 {
	t.Helper()
	var out []int64
	for i := range n {
		a, err := b.store.FindAlert(context.Background(), "alertmanager", fmt.Sprintf("f00d%012d", i))
		require.NoError(t, err)
		if a.GroupID == 0 {
			out = append(out, a.ID)
		}
	}
	return out
}

// TestStormFirstAlertsAtOnceAreOneProposal: the first two alerts of a
// storm arrive at the same instant, in two deliveries (two Alertmanager
// groups, or two replicas of the bot). One proposal is posted, and the
// second alert joins it.
func TestStormFirstAlertsAtOnceAreOneProposal(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b, f := setupFaults(t, kind)
		started := b.clock.Now().Add(-2 * time.Minute)
		deliverAtOnce(t, b, f, pods(t, "HighErrorRate", "firing", started, 0), pods(t, "HighErrorRate", "firing", started, 1))
		require.Empty(t, b.queue.RunAll(t))
		require.Len(t, leaders(t, b, 2), 1, "one alert leads, the other joins it")
		require.Len(t, postsContaining(b.chat, "#checkout", "from this alert?"), 1, "one proposal: %q", b.chat.PostsIn("#checkout"))
	})
}

// TestStormFirstAlertsAtOnceAreOneIncident: the same for a rule that
// declares at once: one incident, one page.
func TestStormFirstAlertsAtOnceAreOneIncident(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b, f := setupFaults(t, kind)
		started := b.clock.Now().Add(-2 * time.Minute)
		deliverAtOnce(t, b, f, pods(t, "CheckoutDown", "firing", started, 0), pods(t, "CheckoutDown", "firing", started, 1))
		require.Empty(t, b.queue.RunAll(t))
		require.Len(t, leaders(t, b, 2), 1)
		require.Len(t, incidents(t, b), 1, "one incident for the storm")
	})
}

// TestStormJoinAndItsLineAreOne: the store fails the timeline line of an
// alert joining a storm's incident (a process killed between the two
// writes). Alertmanager is answered 500 and nothing of the alert remains;
// its retry stores both.
func TestStormJoinAndItsLineAreOne(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b, f := setupFaults(t, kind)
		ctx := context.Background()
		h := alertmanager(b)
		started := b.clock.Now().Add(-2 * time.Minute)
		require.Equal(t, http.StatusOK, deliver(t, h, pods(t, "CheckoutDown", "firing", started, 0)))
		require.Empty(t, b.queue.RunAll(t))
		list := incidents(t, b)
		require.Len(t, list, 1)
		inc := list[0]

		f.lines = 1
		body := pods(t, "CheckoutDown", "firing", started, 0, 1)
		require.Equal(t, http.StatusInternalServerError, deliver(t, h, body))
		_, err := b.store.FindAlert(ctx, "alertmanager", fmt.Sprintf("f00d%012d", 1))
		require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(err), "the alert whose line failed must not remain: %v", err)

		require.Equal(t, http.StatusOK, deliver(t, h, body), "Alertmanager's retry")
		require.Empty(t, b.queue.RunAll(t))
		joined, err := b.store.ListAlerts(ctx, inc.ID)
		require.NoError(t, err)
		require.Len(t, joined, 2)
		evs, err := b.store.ListTimeline(ctx, inc.ID)
		require.NoError(t, err)
		too := 0
		for _, e := range evs {
			if e.Kind == incident.EventAlert && strings.Contains(e.Text, "is firing too") {
				too++
			}
		}
		require.Equal(t, 1, too, "the joined alert's line")
	})
}

// proposalOf returns the one proposal posted in #checkout.
func proposalOf(t *testing.T, b bundle) string {
	t.Helper()
	list := postsContaining(b.chat, "#checkout", "from this alert?")
	require.Len(t, list, 1, "%q", b.chat.PostsIn("#checkout"))
	return list[0]
}

// TestStormProposalCountsItsAlerts: a storm's proposal says how many alerts
// joined it, redrawn in place as they do; while any of them fires the
// group has not resolved ("2 of 3 still firing"), even when the first,
// which the proposal names, resolved. Only once all have resolved does the
// proposal, and the channel, say so, once.
func TestStormProposalCountsItsAlerts(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind, options{})
		h := alertmanager(b)
		started := b.clock.Now().Add(-2 * time.Minute)

		require.Equal(t, http.StatusOK, deliver(t, h, pods(t, "HighErrorRate", "firing", started, 0)))
		require.Empty(t, b.queue.RunAll(t))
		require.NotContains(t, proposalOf(t, b), "alerts of this rule", "one alert: no count")

		b.clock.Advance(time.Minute)
		require.Equal(t, http.StatusOK, deliver(t, h, pods(t, "HighErrorRate", "firing", started, 0, 1, 2)))
		require.Empty(t, b.queue.RunAll(t))
		require.Contains(t, proposalOf(t, b), "3 alerts of this rule are firing.")
		edits := b.chat.Edits

		b.clock.Advance(time.Minute)
		require.Equal(t, http.StatusOK, deliver(t, h, pods(t, "HighErrorRate", "resolved", started, 0)))
		require.Empty(t, b.queue.RunAll(t))
		require.Contains(t, proposalOf(t, b), "2 of 3 alerts of this rule still firing.")
		require.Empty(t, postsContaining(b.chat, "#checkout", "resolved after"), "the group fires on: %q", b.chat.PostsIn("#checkout"))
		require.Equal(t, edits+1, b.chat.Edits)

		b.clock.Advance(time.Minute)
		resolved := pods(t, "HighErrorRate", "resolved", started, 0, 1, 2)
		require.Equal(t, http.StatusOK, deliver(t, h, resolved))
		require.Equal(t, http.StatusOK, deliver(t, h, resolved)) // a resend
		require.Empty(t, b.queue.RunAll(t))
		require.Contains(t, proposalOf(t, b), "All 3 alerts of this rule have resolved.")
		require.Len(t, postsContaining(b.chat, "#checkout", "All 3 alerts of *HighErrorRate"), 1, "%q", b.chat.PostsIn("#checkout"))
		require.Len(t, b.chat.PostsIn("#checkout"), 2, "the proposal and the note that the group resolved")
	})
}

// TestStormAlertJoiningAsItsProposalIsDeclaredJoinsTheIncident: an alert of
// a storm joins the proposal in a transaction that has read the proposal
// as undecided when someone clicks Declare on it. The click waits for that
// transaction, so the alert is among those that join the declared incident
// at once, not at its next delivery (Alertmanager's repeat_interval, 4
// hours by default).
func TestStormAlertJoiningAsItsProposalIsDeclaredJoinsTheIncident(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b, f := setupFaults(t, kind)
		ctx := context.Background()
		h := alertmanager(b)
		started := b.clock.Now().Add(-2 * time.Minute)
		require.Equal(t, http.StatusOK, deliver(t, h, pods(t, "HighErrorRate", "firing", started, 0)))
		require.Empty(t, b.queue.RunAll(t))
		leader, err := b.store.FindAlert(ctx, "alertmanager", fmt.Sprintf("f00d%012d", 0))
		require.NoError(t, err)
		require.Equal(t, incident.AlertProposed, leader.State)

		var (
			once    sync.Once
			looked  = make(chan struct{})
			release = make(chan struct{})
		)
		f.mu.Lock()
		f.found = func() {
			first := false
			once.Do(func() { first = true })
			if first {
				close(looked)
				<-release
			}
		}
		f.mu.Unlock()
		delivered := make(chan int, 1)
		go func() { delivered <- deliver(t, h, pods(t, "HighErrorRate", "firing", started, 1)) }()
		<-looked // the second alert's transaction has found the proposal undecided

		clicked := make(chan error, 1)
		go func() {
			_, err := b.alrt.DeclareFromAlert(ctx, leader.ID, "U0ALICE", incident.ReplyTarget{})
			clicked <- err
		}()
		select {
		case err := <-clicked:
			// The click did not wait: its jobs run before the alert's
			// transaction commits.
			require.NoError(t, err)
			require.Empty(t, b.queue.RunAll(t))
			close(release)
		case <-time.After(500 * time.Millisecond):
			close(release)
			require.NoError(t, <-clicked)
		}
		require.Equal(t, http.StatusOK, <-delivered)
		require.Empty(t, b.queue.RunAll(t))

		leader, err = b.store.GetAlert(ctx, leader.ID)
		require.NoError(t, err)
		require.Equal(t, incident.AlertDeclared, leader.State)
		member, err := b.store.FindAlert(ctx, "alertmanager", fmt.Sprintf("f00d%012d", 1))
		require.NoError(t, err)
		require.Equal(t, leader.ID, member.GroupID)
		require.Equal(t, incident.AlertDeclared, member.State, "the alert that joined the proposal joins its incident")
		require.Equal(t, leader.IncidentID, member.IncidentID)
		lines := 0
		evs, err := b.store.ListTimeline(ctx, leader.IncidentID)
		require.NoError(t, err)
		for _, ev := range evs {
			if strings.Contains(ev.Text, "is firing too") {
				lines++
			}
		}
		require.Equal(t, 1, lines, "one line says the alert joined")
	})
}
