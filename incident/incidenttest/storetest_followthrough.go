package incidenttest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/followthrough"
)

func newAlert(fp string) *incident.Alert {
	return &incident.Alert{Source: "alertmanager", Fingerprint: fp, Status: incident.AlertFiring, Title: "HighErrorRate",
		Summary: "5xx above 5%", URL: "http://prometheus/graph", Labels: map[string]string{"alertname": "HighErrorRate", "service": "checkout"},
		Rule: "checkout-errors", Service: "checkout", Severity: incident.P1, State: incident.AlertProposed, Count: 1,
		StartsAt: at(0).Add(123456 * time.Microsecond), FirstAt: at(1), LastAt: at(1)}
}

func testAlerts(t *testing.T, s Store) {
	ctx := context.Background()
	a, err := s.AddAlert(ctx, newAlert("fp1"))
	require.NoError(t, err)
	require.Positive(t, a.ID)
	want := *newAlert("fp1")
	want.ID = a.ID
	require.Equal(t, want, *a)

	dup, err := s.AddAlert(ctx, newAlert("fp1"))
	RequireCode(t, err, incident.ECONFLICT)
	require.NotNil(t, dup, "a duplicate returns the stored alert")
	require.Equal(t, a.ID, dup.ID)

	got, err := s.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, *a, *got)
	got, err = s.FindAlert(ctx, "alertmanager", "fp1")
	require.NoError(t, err)
	require.Equal(t, a.ID, got.ID)
	_, err = s.FindAlert(ctx, "grafana", "fp1")
	RequireCode(t, err, incident.ENOTFOUND)
	_, err = s.GetAlert(ctx, a.ID+1000)
	RequireCode(t, err, incident.ENOTFOUND)

	inc := create(t, s)
	updated, err := s.UpdateAlert(ctx, a.ID, func(x *incident.Alert) error {
		x.State, x.IncidentID, x.Count, x.LastAt = incident.AlertDeclared, inc.ID, 3, at(9)
		x.Source = "changed" // ignored: the identity never changes
		x.ResolvedAt = ptr(at(10))
		x.StartsAt = time.Time{} // a sender without startsAt: none, not 0001-01-01
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, "alertmanager", updated.Source)
	require.True(t, updated.StartsAt.IsZero())
	require.Equal(t, incident.AlertDeclared, updated.State)
	require.Equal(t, 3, updated.Count)
	require.Equal(t, at(10), *updated.ResolvedAt)
	got, err = s.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, *updated, *got)

	_, err = s.UpdateAlert(ctx, a.ID, func(x *incident.Alert) error { return incident.Errorf(incident.ECONFLICT, "stop") })
	RequireCode(t, err, incident.ECONFLICT)
	_, err = s.UpdateAlert(ctx, a.ID, func(x *incident.Alert) error { x.Severity = 0; return nil })
	RequireCode(t, err, incident.EINVALID)
	_, err = s.UpdateAlert(ctx, a.ID+1000, func(x *incident.Alert) error { return nil })
	RequireCode(t, err, incident.ENOTFOUND)

	b, err := s.AddAlert(ctx, newAlert("fp2"))
	require.NoError(t, err)
	_, err = s.UpdateAlert(ctx, b.ID, func(x *incident.Alert) error { x.IncidentID = inc.ID; x.FirstAt = at(0); return nil })
	require.NoError(t, err)
	list, err := s.ListAlerts(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, b.ID, list[0].ID, "oldest first")
	list, err = s.ListAlerts(ctx, inc.ID+1000)
	require.NoError(t, err)
	require.Empty(t, list)

	bad := newAlert("")
	_, err = s.AddAlert(ctx, bad)
	RequireCode(t, err, incident.EINVALID)
	_, err = s.AddAlert(ctx, nil)
	RequireCode(t, err, incident.EINVALID)
}

func testConcurrentAddAlert(t *testing.T, s Store) {
	ctx := context.Background()
	const n = 8
	ids := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a, err := s.AddAlert(ctx, newAlert("same"))
			if err != nil {
				require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
			}
			require.NotNil(t, a)
			ids[i] = a.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		require.Equal(t, ids[0], id, "every delivery sees the one stored alert")
	}
}

func testUpdateActionItem(t *testing.T, st Store) {
	s := followThroughStore(t, st)
	ctx := context.Background()
	a := create(t, s)
	b := create(t, s)
	first := &incident.ActionItem{IncidentID: a.ID, Text: "add a pool alert", Owner: "U0OWNER", DueOn: ptr(at(3 * 24 * 60)), CreatedBy: "U0IC", CreatedAt: at(5)}
	second := &incident.ActionItem{IncidentID: b.ID, Text: "index the orders query", CreatedBy: "U0IC", CreatedAt: at(6)}
	require.NoError(t, s.AddActionItem(ctx, first))
	require.NoError(t, s.AddActionItem(ctx, second))

	open, err := s.ListOpenActionItems(ctx)
	require.NoError(t, err)
	require.Equal(t, []incident.ActionItem{*first, *second}, open)

	done, err := s.UpdateActionItem(ctx, first.ID, func(x *incident.ActionItem) error {
		x.Done, x.ExternalURL = true, "https://github.com/acme/checkout/issues/9"
		x.IncidentID = b.ID // ignored
		return nil
	})
	require.NoError(t, err)
	require.True(t, done.Done)
	require.Equal(t, a.ID, done.IncidentID)
	got, err := s.GetActionItem(ctx, first.ID)
	require.NoError(t, err)
	require.Equal(t, *done, *got)

	open, err = s.ListOpenActionItems(ctx)
	require.NoError(t, err)
	require.Equal(t, []incident.ActionItem{*second}, open)

	_, err = s.UpdateActionItem(ctx, first.ID, func(x *incident.ActionItem) error { x.Text = ""; return nil })
	RequireCode(t, err, incident.EINVALID)
	_, err = s.UpdateActionItem(ctx, first.ID+1000, func(x *incident.ActionItem) error { return nil })
	RequireCode(t, err, incident.ENOTFOUND)
	_, err = s.GetActionItem(ctx, first.ID+1000)
	RequireCode(t, err, incident.ENOTFOUND)
}

func testReviews(t *testing.T, st Store) {
	s := followThroughStore(t, st)
	ctx := context.Background()
	a := create(t, s)
	b := create(t, s)
	_, err := s.GetReview(ctx, a.ID)
	RequireCode(t, err, incident.ENOTFOUND)

	ra := &incident.Review{IncidentID: a.ID, State: incident.ReviewDraft, DueOn: at(7 * 24 * 60), Owner: "U0IC", UpdatedBy: "bot", CreatedAt: at(1), UpdatedAt: at(1)}
	rb := &incident.Review{IncidentID: b.ID, State: incident.ReviewInReview, DueOn: at(5 * 24 * 60), Owner: "U0IC", CreatedAt: at(2), UpdatedAt: at(2)}
	require.NoError(t, s.SaveReview(ctx, ra))
	require.NoError(t, s.SaveReview(ctx, rb))
	got, err := s.GetReview(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, *ra, *got)

	list, err := s.ListReviews(ctx)
	require.NoError(t, err)
	require.Equal(t, []incident.Review{*rb, *ra}, list, "by due date")

	rb.State, rb.UpdatedAt, rb.UpdatedBy = incident.ReviewPublished, at(9), "U0IC"
	require.NoError(t, s.SaveReview(ctx, rb))
	got, err = s.GetReview(ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, incident.ReviewPublished, got.State)
	require.Equal(t, at(2), got.CreatedAt, "saving again keeps the creation time")
	list, err = s.ListReviews(ctx)
	require.NoError(t, err)
	require.Equal(t, []incident.Review{*ra}, list, "published reviews are done")

	RequireCode(t, s.SaveReview(ctx, &incident.Review{IncidentID: a.ID + 1000, State: incident.ReviewDraft, DueOn: at(1)}), incident.ENOTFOUND)
	RequireCode(t, s.SaveReview(ctx, &incident.Review{IncidentID: a.ID, State: "bogus", DueOn: at(1)}), incident.EINVALID)
	RequireCode(t, s.SaveReview(ctx, &incident.Review{IncidentID: a.ID, State: incident.ReviewDraft}), incident.EINVALID)
}

func testNotices(t *testing.T, st Store) {
	s := followThroughStore(t, st)
	ctx := context.Background()
	sent, err := s.NoticeSent(ctx, "digest:payments:2026-W49")
	require.NoError(t, err)
	require.False(t, sent)
	first, err := s.RecordNotice(ctx, "digest:payments:2026-W49", at(1))
	require.NoError(t, err)
	require.True(t, first)
	first, err = s.RecordNotice(ctx, "digest:payments:2026-W49", at(2))
	require.NoError(t, err)
	require.False(t, first)
	sent, err = s.NoticeSent(ctx, "digest:payments:2026-W49")
	require.NoError(t, err)
	require.True(t, sent)
	_, err = s.RecordNotice(ctx, "", at(1))
	RequireCode(t, err, incident.EINVALID)

	// Many keys at once, across the store's query chunks.
	keys := []string{"digest:payments:2026-W49"}
	for i := range 1200 {
		keys = append(keys, fmt.Sprintf("item_overdue:%d:2026-12-08", i))
		if i%100 == 7 {
			_, err := s.RecordNotice(ctx, keys[len(keys)-1], at(2))
			require.NoError(t, err)
		}
	}
	got, err := s.NoticesSent(ctx, keys)
	require.NoError(t, err)
	require.Len(t, got, 13)
	require.True(t, got["digest:payments:2026-W49"])
	require.True(t, got["item_overdue:1107:2026-12-08"])
	require.False(t, got["item_overdue:1108:2026-12-08"])
	got, err = s.NoticesSent(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got)

	// Concurrent records of one key: exactly one is first.
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := 0
	for range 8 {
		wg.Go(func() {
			ok, err := s.RecordNotice(ctx, "item_due:7:2026-12-08", at(3))
			require.NoError(t, err)
			if ok {
				mu.Lock()
				firsts++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, firsts)
}

// followThroughStore is s with the follow-through methods, which every
// Store of the suite keeps (package followthrough declares them).
func followThroughStore(t *testing.T, s incident.Store) interface {
	incident.Store
	followthrough.Store
} {
	t.Helper()
	fs, ok := s.(interface {
		incident.Store
		followthrough.Store
	})
	require.True(t, ok, "%T does not keep follow-through (followthrough.Store)", s)
	return fs
}

// testFollowThroughAtomic: on an Atomic's Tx, which keeps follow-through
// too, an item, a review and their events commit together, or none of
// them does.
func testFollowThroughAtomic(t *testing.T, st Store) {
	s := followThroughStore(t, st)
	ctx := context.Background()
	inc := create(t, s)
	item := &incident.ActionItem{IncidentID: inc.ID, Text: "add a pool alert", CreatedBy: "U0IC", CreatedAt: at(5)}
	require.NoError(t, s.AddActionItem(ctx, item))
	boom := errors.New("boom")
	write := func(tx followthrough.Tx, state incident.ReviewState, source string) error {
		if _, err := tx.UpdateActionItem(ctx, item.ID, func(a *incident.ActionItem) error { a.Done = true; return nil }); err != nil {
			return err
		}
		if err := tx.SaveReview(ctx, &incident.Review{IncidentID: inc.ID, State: state, DueOn: at(24 * 60)}); err != nil {
			return err
		}
		return tx.AddTimelineEvent(ctx, &incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventReview, At: at(6), SourceID: source})
	}

	err := s.Atomic(ctx, func(tx incident.Tx) error {
		ftx, ok := tx.(followthrough.Tx)
		require.True(t, ok, "%T does not keep follow-through", tx)
		require.NoError(t, write(ftx, incident.ReviewDraft, "review:a"))
		return boom
	})
	require.ErrorIs(t, err, boom)
	got, err := s.GetActionItem(ctx, item.ID)
	require.NoError(t, err)
	require.False(t, got.Done, "rolled back")
	_, err = s.GetReview(ctx, inc.ID)
	RequireCode(t, err, incident.ENOTFOUND)
	events, err := s.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	require.Empty(t, events)

	require.NoError(t, s.Atomic(ctx, func(tx incident.Tx) error {
		return write(tx.(followthrough.Tx), incident.ReviewInReview, "review:b")
	}))
	got, err = s.GetActionItem(ctx, item.ID)
	require.NoError(t, err)
	require.True(t, got.Done)
	r, err := s.GetReview(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.ReviewInReview, r.State)
	events, err = s.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, events, 1)
}

func testActionItems(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	later := &incident.ActionItem{IncidentID: a.ID, Text: "add an alert on gateway latency", Owner: "U0OWNER", DueOn: ptr(at(7 * 24 * 60)), CreatedBy: "U0IC", CreatedAt: at(50), ExternalURL: "https://github.com/acme/checkout/issues/7"}
	earlier := &incident.ActionItem{IncidentID: a.ID, Text: "write the postmortem", Done: true, CreatedBy: "U0IC", CreatedAt: at(45)}
	require.NoError(t, s.AddActionItem(ctx, later))
	require.NoError(t, s.AddActionItem(ctx, earlier))
	require.Positive(t, later.ID)

	got, err := s.ListActionItems(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, []incident.ActionItem{*earlier, *later}, got)

	zero := &incident.ActionItem{IncidentID: a.ID, Text: "t"}
	require.NoError(t, s.AddActionItem(ctx, zero))
	require.False(t, zero.CreatedAt.IsZero(), "a zero CreatedAt becomes now")

	RequireCode(t, s.AddActionItem(ctx, &incident.ActionItem{IncidentID: a.ID + 1000, Text: "t"}), incident.ENOTFOUND)
	RequireCode(t, s.AddActionItem(ctx, &incident.ActionItem{IncidentID: a.ID}), incident.EINVALID)
	RequireCode(t, s.AddActionItem(ctx, nil), incident.EINVALID)
	got, err = s.ListActionItems(ctx, a.ID+1000)
	require.NoError(t, err)
	require.Empty(t, got)
}

// testAlertGroups: FindAlertGroup finds the newest alert of a rule and
// service that leads a group, fires, is proposed or declared, and was
// heard of since the given time; a joined alert keeps its group.
func testAlertGroups(t *testing.T, s Store) {
	ctx := context.Background()
	_, err := s.FindAlertGroup(ctx, "checkout-errors", "checkout", at(0))
	RequireCode(t, err, incident.ENOTFOUND)

	first, err := s.AddAlert(ctx, newAlert("g1"))
	require.NoError(t, err)
	leader, err := s.AddAlert(ctx, newAlert("g2"))
	require.NoError(t, err)
	joined := newAlert("g3")
	joined.GroupID = leader.ID
	member, err := s.AddAlert(ctx, joined)
	require.NoError(t, err)
	require.Equal(t, leader.ID, member.GroupID, "the group is kept")
	got, err := s.GetAlert(ctx, member.ID)
	require.NoError(t, err)
	require.Equal(t, leader.ID, got.GroupID)

	found, err := s.FindAlertGroup(ctx, "checkout-errors", "checkout", at(1))
	require.NoError(t, err)
	require.Equal(t, leader.ID, found.ID, "the newest leader, not %d nor the member %d", first.ID, member.ID)
	_, err = s.FindAlertGroup(ctx, "checkout-errors", "payments", at(1))
	RequireCode(t, err, incident.ENOTFOUND) // another service
	_, err = s.FindAlertGroup(ctx, "checkout-latency", "checkout", at(1))
	RequireCode(t, err, incident.ENOTFOUND) // another rule
	_, err = s.FindAlertGroup(ctx, "checkout-errors", "checkout", at(2))
	RequireCode(t, err, incident.ENOTFOUND) // none heard of since

	for _, change := range []func(*incident.Alert){
		func(a *incident.Alert) { a.Status = incident.AlertResolved },
		func(a *incident.Alert) { a.State = incident.AlertDismissed },
	} {
		_, err = s.UpdateAlert(ctx, leader.ID, func(a *incident.Alert) error { change(a); return nil })
		require.NoError(t, err)
		_, err = s.UpdateAlert(ctx, member.ID, func(a *incident.Alert) error { a.Status = incident.AlertResolved; return nil })
		require.NoError(t, err)
		found, err = s.FindAlertGroup(ctx, "checkout-errors", "checkout", at(1))
		require.NoError(t, err)
		require.Equal(t, first.ID, found.ID, "a resolved or dismissed alert leads no group")
		_, err = s.UpdateAlert(ctx, member.ID, func(a *incident.Alert) error { a.Status = incident.AlertFiring; return nil })
		require.NoError(t, err)
		_, err = s.UpdateAlert(ctx, leader.ID, func(a *incident.Alert) error {
			a.Status, a.State = incident.AlertFiring, incident.AlertProposed
			return nil
		})
		require.NoError(t, err)
	}
	inc := create(t, s)
	_, err = s.UpdateAlert(ctx, leader.ID, func(a *incident.Alert) error {
		a.State, a.IncidentID = incident.AlertDeclared, inc.ID
		return nil
	})
	require.NoError(t, err)
	found, err = s.FindAlertGroup(ctx, "checkout-errors", "checkout", at(1))
	require.NoError(t, err)
	require.Equal(t, leader.ID, found.ID, "a declared alert leads its incident's group")
	require.Equal(t, inc.ID, found.IncidentID)
}
