package incidenttest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

func testChangeEvents(t *testing.T, s Store) {
	ctx := context.Background()
	add := func(id, service string, minute int) *incident.ChangeEvent {
		c := NewChangeEvent(id, func(c *incident.ChangeEvent) { c.Service, c.OccurredAt = service, at(minute) })
		require.NoError(t, s.AddChangeEvent(ctx, c))
		require.Positive(t, c.ID)
		return c
	}
	before := add("d0", "checkout", -1)
	start := add("d1", "checkout", 0)
	mid := add("d2", "search", 5)
	midTie := add("d3", "checkout", 5)
	end := add("d4", "checkout", 10)
	add("d5", "checkout", 11)
	flag := NewChangeEvent("flag-1", func(c *incident.ChangeEvent) {
		c.Source, c.Kind, c.Service, c.OccurredAt = "launchdarkly", incident.ChangeFlag, "search", at(7)
		c.Data = map[string]string{"flag": "new-ranker", "to": "on"}
	})
	require.NoError(t, s.AddChangeEvent(ctx, flag))
	_ = before

	got, err := s.ListChangeEvents(ctx, "", at(0), at(10))
	require.NoError(t, err)
	require.Equal(t, []incident.ChangeEvent{*end, *flag, *midTie, *mid, *start}, got, "inclusive window, newest first, ties by newest id")

	got, err = s.ListChangeEvents(ctx, "search", at(0), at(10))
	require.NoError(t, err)
	require.Equal(t, []incident.ChangeEvent{*flag, *mid}, got)

	got, err = s.ListChangeEvents(ctx, "checkout", at(5), at(5))
	require.NoError(t, err)
	require.Equal(t, []incident.ChangeEvent{*midTie}, got)

	// Sub-microsecond bounds: the window is exact even though times are
	// stored to the microsecond.
	got, err = s.ListChangeEvents(ctx, "checkout", at(5).Add(time.Nanosecond), at(10).Add(-time.Nanosecond))
	require.NoError(t, err)
	require.Empty(t, got)

	got, err = s.ListChangeEvents(ctx, "nobody", at(-100), at(100))
	require.NoError(t, err)
	require.Empty(t, got)
	got, err = s.ListChangeEvents(ctx, "", at(10), at(0))
	require.NoError(t, err)
	require.Empty(t, got, "an inverted window is empty")
}

func testChangeEventErrors(t *testing.T, s Store) {
	ctx := context.Background()
	require.NoError(t, s.AddChangeEvent(ctx, NewChangeEvent("d1")))
	dup := NewChangeEvent("d1", func(c *incident.ChangeEvent) { c.Summary = "redelivered" })
	RequireCode(t, s.AddChangeEvent(ctx, dup), incident.ECONFLICT)
	require.Zero(t, dup.ID)
	require.NoError(t, s.AddChangeEvent(ctx, NewChangeEvent("d1", func(c *incident.ChangeEvent) { c.Source = "webhook" })),
		"the same external id from another source is a different change")

	zero := NewChangeEvent("d2", func(c *incident.ChangeEvent) { c.OccurredAt = time.Time{} })
	require.NoError(t, s.AddChangeEvent(ctx, zero))
	require.False(t, zero.OccurredAt.IsZero(), "a zero OccurredAt becomes now")

	for name, opt := range map[string]func(*incident.ChangeEvent){
		"no source": func(c *incident.ChangeEvent) { c.Source = "" },
		"no id":     func(c *incident.ChangeEvent) { c.ExternalID = "" },
		"no kind":   func(c *incident.ChangeEvent) { c.Kind = "" },
	} {
		RequireCode(t, s.AddChangeEvent(ctx, NewChangeEvent("x-"+name, opt)), incident.EINVALID)
	}
	RequireCode(t, s.AddChangeEvent(ctx, nil), incident.EINVALID)
}

func testRollbacks(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	b := create(t, s)
	deploy := NewRollback(a.ID, "deploy:d1", func(r *incident.Rollback) {
		r.CreatedAt, r.UpdatedAt = at(1), at(2) // the clock decides
	})
	flag := NewRollback(a.ID, "", func(r *incident.Rollback) {
		r.Plan = incident.RollbackPlan{
			Key: "flag:new-ranker:v7", Kind: incident.ChangeFlag, Source: "launchdarkly",
			Description: "Turn new-ranker off in production.", Environment: "production", Service: "search",
			Method: "off", Project: "default", Flag: "new-ranker", ChangeID: "launchdarkly:v7",
		}
		r.Status = ""
	})
	onB := NewRollback(b.ID, "deploy:d2", func(r *incident.Rollback) { r.Plan.Key = "" })
	for _, r := range []*incident.Rollback{deploy, flag, onB} {
		require.NoError(t, s.AddRollback(ctx, r))
		require.Positive(t, r.ID, "the ID is set on the argument")
		require.False(t, r.CreatedAt.IsZero())
		require.Equal(t, r.CreatedAt, r.UpdatedAt)
	}
	require.NotEqual(t, at(1), deploy.CreatedAt, "CreatedAt always comes from the clock")
	require.Equal(t, "flag:new-ranker:v7", flag.Key, "an empty Key is the plan's")
	require.Equal(t, incident.RollbackAwaitingApproval, flag.Status, "an empty Status awaits approval")
	require.Equal(t, "deploy:d2", onB.Plan.Key, "an empty Plan.Key is the rollback's")

	got, err := s.ListRollbacks(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, []incident.Rollback{*deploy, *flag}, got, "oldest first")

	for _, want := range []*incident.Rollback{deploy, flag, onB} {
		read, err := s.GetRollback(ctx, want.Key)
		require.NoError(t, err)
		require.Equal(t, want, read, "the plan round-trips")
	}

	got, err = s.ListRollbacks(ctx, a.ID+b.ID+1000)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testRollbackErrors(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	b := create(t, s)
	require.NoError(t, s.AddRollback(ctx, NewRollback(a.ID, "deploy:d1")))

	dup := NewRollback(b.ID, "deploy:d1", func(r *incident.Rollback) { r.RequestedBy = "U0OTHER" })
	RequireCode(t, s.AddRollback(ctx, dup), incident.ECONFLICT)
	require.Zero(t, dup.ID, "a rejected rollback gets no ID")
	RequireCode(t, s.AddRollback(ctx, NewRollback(a.ID+b.ID+1000, "deploy:d9")), incident.ENOTFOUND)
	for name, opt := range map[string]func(*incident.Rollback){
		"no key":         func(r *incident.Rollback) { r.Key, r.Plan.Key = "", "" },
		"different keys": func(r *incident.Rollback) { r.Plan.Key = "deploy:other" },
	} {
		RequireCode(t, s.AddRollback(ctx, NewRollback(a.ID, "deploy:"+name, opt)), incident.EINVALID)
	}
	RequireCode(t, s.AddRollback(ctx, nil), incident.EINVALID)

	_, err := s.GetRollback(ctx, "deploy:d404")
	RequireCode(t, err, incident.ENOTFOUND)
	_, err = s.GetRollback(ctx, "")
	RequireCode(t, err, incident.ENOTFOUND)

	got, err := s.ListRollbacks(ctx, a.ID)
	require.NoError(t, err)
	require.Len(t, got, 1)
	got, err = s.ListRollbacks(ctx, b.ID)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testUpdateRollback(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	b := create(t, s)
	rb := NewRollback(a.ID, "deploy:d1")
	require.NoError(t, s.AddRollback(ctx, rb))

	got, err := s.UpdateRollback(ctx, rb.ID, func(r *incident.Rollback) error {
		require.Equal(t, rb, r, "fn sees the stored rollback")
		r.ID, r.IncidentID, r.Key, r.Plan.Key = 999999, b.ID, "changed", "changed" // ignored
		r.CreatedAt = at(-60)                                                      // ignored
		r.Status = incident.RollbackRunning
		r.ApprovedBy = "U0APPROVER"
		r.ExternalID = "1234567"
		r.URL = "https://github.com/acme/checkout/actions/runs/1234567"
		r.Detail = "queued"
		r.Plan.Description = "Redeploy, confirmed."
		return nil
	})
	require.NoError(t, err)
	want := *rb
	want.Status, want.ApprovedBy, want.ExternalID = incident.RollbackRunning, "U0APPROVER", "1234567"
	want.URL, want.Detail = "https://github.com/acme/checkout/actions/runs/1234567", "queued"
	want.Plan.Description = "Redeploy, confirmed."
	want.UpdatedAt = got.UpdatedAt
	require.Equal(t, &want, got)
	require.False(t, got.UpdatedAt.Before(rb.UpdatedAt))
	read, err := s.GetRollback(ctx, "deploy:d1")
	require.NoError(t, err)
	require.Equal(t, got, read)
	_, err = s.GetRollback(ctx, "changed")
	RequireCode(t, err, incident.ENOTFOUND)
	list, err := s.ListRollbacks(ctx, b.ID)
	require.NoError(t, err)
	require.Empty(t, list, "the rollback stays with its incident")

	called := false
	_, err = s.UpdateRollback(ctx, rb.ID+1000, func(*incident.Rollback) error {
		called = true
		return nil
	})
	RequireCode(t, err, incident.ENOTFOUND)
	require.False(t, called)

	sentinel := errors.New("not approved")
	_, err = s.UpdateRollback(ctx, rb.ID, func(r *incident.Rollback) error {
		r.Status = incident.RollbackFailed
		return sentinel
	})
	require.Same(t, sentinel, err, "fn's error is returned as is")
	_, err = s.UpdateRollback(ctx, rb.ID, func(r *incident.Rollback) error {
		r.Status, r.Detail = "", "never stored"
		return nil
	})
	RequireCode(t, err, incident.EINVALID)
	read, err = s.GetRollback(ctx, "deploy:d1")
	require.NoError(t, err)
	require.Equal(t, got, read, "nothing was written")
}

// testChangeEventStates: a change that moves through states under one id is
// stored once, as its newest report.
func testChangeEventStates(t *testing.T, s Store) {
	ctx := context.Background()
	state := func(st string, rev int64, minute int, service string) *incident.ChangeEvent {
		return NewChangeEvent("deployment:acme/shop:42", func(c *incident.ChangeEvent) {
			c.Service, c.OccurredAt, c.Revision, c.Summary = service, at(minute), rev, "Deploy ("+st+")"
			c.Data = map[string]string{"state": st}
		})
	}
	pending := state("pending", 100, 0, "checkout")
	require.NoError(t, s.AddChangeEvent(ctx, pending))
	running := state("in_progress", 101, 2, "")
	require.NoError(t, s.AddChangeEvent(ctx, running), "a later state replaces the stored one")
	require.Equal(t, pending.ID, running.ID, "one change, one row")
	require.Equal(t, "checkout", running.Service, "a report without a service keeps the stored one")

	failed := state("failure", 102, 6, "checkout")
	require.NoError(t, s.AddChangeEvent(ctx, failed))
	RequireCode(t, s.AddChangeEvent(ctx, state("in_progress", 101, 2, "checkout")), incident.ECONFLICT)
	RequireCode(t, s.AddChangeEvent(ctx, state("failure", 102, 6, "checkout")), incident.ECONFLICT)

	got, err := s.ListChangeEvents(ctx, "checkout", at(-10), at(10))
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, *failed, got[0])
	require.Equal(t, "failure", got[0].Data["state"], "a late delivery of an earlier state does not overwrite a later one")
	got, err = s.ListChangeEvents(ctx, "", at(-10), at(5))
	require.NoError(t, err)
	require.Empty(t, got, "the change is listed at its latest time")

	// Without revisions a change never moves: a later report of it, such
	// as a generic webhook's retry timed when it arrived, is a repeat, and
	// the first report holds, its time too.
	run := NewChangeEvent("run-7", func(c *incident.ChangeEvent) { c.OccurredAt = at(1) })
	require.NoError(t, s.AddChangeEvent(ctx, run))
	RequireCode(t, s.AddChangeEvent(ctx, NewChangeEvent("run-7", func(c *incident.ChangeEvent) { c.OccurredAt, c.Summary = at(3), "retried" })), incident.ECONFLICT)
	RequireCode(t, s.AddChangeEvent(ctx, NewChangeEvent("run-7", func(c *incident.ChangeEvent) { c.OccurredAt = at(0) })), incident.ECONFLICT)
	got, err = s.ListChangeEvents(ctx, "", at(0), at(3))
	require.NoError(t, err)
	require.Equal(t, []incident.ChangeEvent{*run}, got)
}
