package incidenttest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// alertGroupTests check how alerts of one rule and service group.
var alertGroupTests = []storeTest{
	{"AlertGroupOpenWhileAMemberFires", testAlertGroupMembersFiring},
	{"ConcurrentAlertGroupStartsOnce", testConcurrentAlertGroupStart},
	{"AlertGroupJoinAndLineAreOne", testAlertGroupJoinAtomic},
}

// testAlertGroupMembersFiring: a group whose leader resolved is still open
// while an alert that joined it fires and is heard of; CountAlertGroup
// counts the leader and its members, and how many of them fire.
func testAlertGroupMembersFiring(t *testing.T, s Store) {
	ctx := context.Background()
	leader, err := s.AddAlert(ctx, newAlert("m1"))
	require.NoError(t, err)
	var members []int64
	for _, fp := range []string{"m2", "m3"} {
		a := newAlert(fp)
		a.GroupID = leader.ID
		a.LastAt = at(5)
		m, err := s.AddAlert(ctx, a)
		require.NoError(t, err)
		members = append(members, m.ID)
	}
	other, err := s.AddAlert(ctx, newAlert("m4")) // a leader of its own, and no member of leader's
	require.NoError(t, err)
	_, err = s.UpdateAlert(ctx, other.ID, func(a *incident.Alert) error { a.State = incident.AlertDismissed; return nil })
	require.NoError(t, err)

	n, err := s.CountAlertGroup(ctx, leader.ID)
	require.NoError(t, err)
	require.Equal(t, incident.AlertGroupCount{Alerts: 3, Firing: 3}, n)
	_, err = s.CountAlertGroup(ctx, other.ID+1000)
	RequireCode(t, err, incident.ENOTFOUND)

	group, err := s.ListAlertGroup(ctx, leader.ID)
	require.NoError(t, err)
	var ids []int64
	for _, a := range group {
		ids = append(ids, a.ID)
	}
	require.Equal(t, append([]int64{leader.ID}, members...), ids, "the leader, then its members as stored")
	alone, err := s.ListAlertGroup(ctx, other.ID)
	require.NoError(t, err)
	require.Len(t, alone, 1)
	_, err = s.ListAlertGroup(ctx, other.ID+1000)
	RequireCode(t, err, incident.ENOTFOUND)
	_, err = s.ListAlertGroup(ctx, members[0])
	require.NoError(t, err, "a member leads no group but itself")

	resolve := func(id int64) {
		t.Helper()
		_, err := s.UpdateAlert(ctx, id, func(a *incident.Alert) error { a.Status = incident.AlertResolved; return nil })
		require.NoError(t, err)
	}
	resolve(leader.ID)
	n, err = s.CountAlertGroup(ctx, leader.ID)
	require.NoError(t, err)
	require.Equal(t, incident.AlertGroupCount{Alerts: 3, Firing: 2}, n)
	found, err := s.FindAlertGroup(ctx, "checkout-errors", "checkout", at(2))
	require.NoError(t, err, "the leader resolved, its members fire: the group is open")
	require.Equal(t, leader.ID, found.ID)
	_, err = s.FindAlertGroup(ctx, "checkout-errors", "checkout", at(6))
	RequireCode(t, err, incident.ENOTFOUND) // none heard of since

	resolve(members[0])
	resolve(members[1])
	n, err = s.CountAlertGroup(ctx, leader.ID)
	require.NoError(t, err)
	require.Equal(t, incident.AlertGroupCount{Alerts: 3, Firing: 0}, n)
	_, err = s.FindAlertGroup(ctx, "checkout-errors", "checkout", at(0))
	RequireCode(t, err, incident.ENOTFOUND)
}

// startOrJoin stores an alert of fingerprint fp in a transaction: it
// joins the group FindAlertGroup finds, or starts one. found is called
// between the look and the write.
func startOrJoin(ctx context.Context, s incident.Transactor, fp string, found func()) (*incident.Alert, error) {
	var stored *incident.Alert
	err := s.Atomic(ctx, func(tx incident.Tx) error {
		as, ok := tx.(incident.AlertStore)
		if !ok {
			return fmt.Errorf("the transaction %T keeps no alerts", tx)
		}
		a := newAlert(fp)
		leader, err := as.FindAlertGroup(ctx, a.Rule, a.Service, at(0))
		switch {
		case err == nil:
			a.GroupID = leader.ID
		case incident.ErrorCode(err) != incident.ENOTFOUND:
			return err
		}
		found()
		stored, err = as.AddAlert(ctx, a)
		return err
	})
	return stored, err
}

// RequireOneAlertGroup runs startOrJoin for n alerts at once on the
// stores (each of them a process of its own on one database, or the same
// store n times), each waiting after its look until every one has looked
// or a moment has passed, and requires that one of them started the group
// and the others joined it.
func RequireOneAlertGroup(t *testing.T, stores []incident.Transactor) {
	t.Helper()
	ctx := context.Background()
	n := len(stores)
	var (
		mu      sync.Mutex
		looked  int
		all     = make(chan struct{})
		results = make([]*incident.Alert, n)
		errs    = make([]error, n)
		wg      sync.WaitGroup
	)
	found := func() {
		mu.Lock()
		looked++
		if looked == n {
			close(all)
		}
		mu.Unlock()
		// Without a claim every delivery looks before any stores; with
		// one the others wait for this transaction, so it goes on alone.
		select {
		case <-all:
		case <-time.After(300 * time.Millisecond):
		}
	}
	for i, st := range stores {
		wg.Go(func() { results[i], errs[i] = startOrJoin(ctx, st, fmt.Sprintf("storm-%d", i), found) })
	}
	wg.Wait()
	var leaders []int64
	for i := range n {
		require.NoError(t, errs[i])
		if results[i].GroupID == 0 {
			leaders = append(leaders, results[i].ID)
		}
	}
	require.Len(t, leaders, 1, "one alert starts the group, the others join it")
	for i := range n {
		if results[i].ID != leaders[0] {
			require.Equal(t, leaders[0], results[i].GroupID)
		}
	}
}

// testConcurrentAlertGroupStart: alerts of one rule stored at the same
// instant, each after looking for its group in the same transaction, make
// one group.
func testConcurrentAlertGroupStart(t *testing.T, s Store) {
	RequireOneAlertGroup(t, []incident.Transactor{s, s, s})
}

// testAlertGroupJoinAtomic: an alert that joins its group and the timeline
// line that says so are stored together: when the line fails, nothing of
// the alert remains.
func testAlertGroupJoinAtomic(t *testing.T, s Store) {
	ctx := context.Background()
	inc := create(t, s)
	leader := newAlert("j1")
	leader.State, leader.IncidentID = incident.AlertDeclared, inc.ID
	stored, err := s.AddAlert(ctx, leader)
	require.NoError(t, err)
	err = s.Atomic(ctx, func(tx incident.Tx) error {
		as := tx.(incident.AlertStore)
		a := newAlert("j2")
		a.GroupID, a.State, a.IncidentID = stored.ID, incident.AlertDeclared, inc.ID
		if _, err := as.AddAlert(ctx, a); err != nil {
			return err
		}
		// The line fails: an incident that does not exist.
		return tx.AddTimelineEvent(ctx, NewTimelineEvent(inc.ID+1000, func(e *incident.TimelineEvent) { e.SourceID = "alert:j2:joined" }))
	})
	RequireCode(t, err, incident.ENOTFOUND)
	_, err = s.FindAlert(ctx, "alertmanager", "j2")
	RequireCode(t, err, incident.ENOTFOUND)
	n, err := s.CountAlertGroup(ctx, stored.ID)
	require.NoError(t, err)
	require.Equal(t, 1, n.Alerts, "the member of a failed join must not remain")
}
