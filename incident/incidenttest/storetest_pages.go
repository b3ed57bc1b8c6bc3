package incidenttest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// PageStore is what incident/paging's Store adds to incident.Store: every
// store the suite checks keeps pages too, on itself and on the Tx of its
// Atomic.
type PageStore interface {
	AddPage(ctx context.Context, p *incident.Page) error
	UpdatePage(ctx context.Context, id int64, fn func(*incident.Page) error) (*incident.Page, error)
	FindPage(ctx context.Context, provider, ref string) (*incident.Page, error)
}

// pagesOf returns the page methods of a store or a transaction, failing
// the test when it has none.
func pagesOf(t testing.TB, s any) PageStore {
	t.Helper()
	p, ok := s.(PageStore)
	require.True(t, ok, "%T keeps no pages (incident/paging's Store)", s)
	return p
}

func testPages(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	b := create(t, s)
	zone := time.FixedZone("UTC-3", -3*3600)
	later := NewPage(a.ID, "INC-1-backup", func(p *incident.Page) {
		p.CreatedAt = at(5).In(zone).Add(789 * time.Nanosecond)
		p.Assignees = []string{"Grace Hopper", "Alan Turing"}
		p.Status = "acknowledged"
		p.AcknowledgedAt = ptr(at(7))
		p.AcknowledgedBy = "Grace Hopper"
		p.ResolvedAt = ptr(at(30))
	})
	earlier := NewPage(a.ID, "INC-1", func(p *incident.Page) {
		p.CreatedAt = at(1)
		p.ExternalID = "Q1ABCDEF" // the REST API's incident id
		p.Assignees = nil
	})
	onB := NewPage(b.ID, "INC-2")
	for _, p := range []*incident.Page{later, earlier, onB} {
		require.NoError(t, pagesOf(t, s).AddPage(ctx, p))
		require.Positive(t, p.ID, "the ID is set on the argument")
	}
	require.Equal(t, at(5), later.CreatedAt, "the argument gets the stored time: UTC, whole microseconds")
	require.Equal(t, time.UTC, later.CreatedAt.Location())

	got, err := s.ListPages(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, []incident.Page{*earlier, *later}, got, "oldest first")
	require.Nil(t, got[0].Assignees)

	for name, tc := range map[string]struct {
		provider, ref string
		want          *incident.Page
	}{
		"by external id":      {"pagerduty", "Q1ABCDEF", earlier},
		"by dedup key":        {"pagerduty", "INC-1", earlier},
		"events v2 id":        {"pagerduty", "INC-1-backup", later},
		"another incident's":  {"pagerduty", "INC-2", onB},
		"another provider":    {"opsgenie", "INC-1", nil},
		"unknown ref":         {"pagerduty", "INC-404", nil},
		"empty ref":           {"pagerduty", "", nil},
		"empty provider":      {"", "INC-1", nil},
		"prefix is no match":  {"pagerduty", "INC", nil},
		"case sensitive refs": {"pagerduty", "inc-1", nil},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := pagesOf(t, s).FindPage(ctx, tc.provider, tc.ref)
			if tc.want == nil {
				RequireCode(t, err, incident.ENOTFOUND)
				require.Nil(t, p)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, p)
		})
	}

	// A zero CreatedAt becomes now, which sorts after the explicit times.
	zero := NewPage(a.ID, "INC-1-third", func(p *incident.Page) { p.CreatedAt = time.Time{} })
	require.NoError(t, pagesOf(t, s).AddPage(ctx, zero))
	require.False(t, zero.CreatedAt.IsZero())
	got, err = s.ListPages(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, []incident.Page{*earlier, *later, *zero}, got)

	// What the store returns is a copy.
	got[1].Assignees[0] = "mutated"
	later.Assignees[1] = "mutated"
	found, err := pagesOf(t, s).FindPage(ctx, "pagerduty", "INC-1-backup")
	require.NoError(t, err)
	require.Equal(t, []string{"Grace Hopper", "Alan Turing"}, found.Assignees)

	got, err = s.ListPages(ctx, a.ID+b.ID+1000)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testPageErrors(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	b := create(t, s)
	require.NoError(t, pagesOf(t, s).AddPage(ctx, NewPage(a.ID, "INC-1")))

	dup := NewPage(b.ID, "INC-1", func(p *incident.Page) { p.ExternalID = "Q2" })
	RequireCode(t, pagesOf(t, s).AddPage(ctx, dup), incident.ECONFLICT)
	require.Zero(t, dup.ID, "a rejected page gets no ID")
	require.NoError(t, pagesOf(t, s).AddPage(ctx, NewPage(a.ID, "INC-1", func(p *incident.Page) { p.Provider = "opsgenie" })),
		"the same dedup key at another provider is another page")
	for range 2 {
		require.NoError(t, pagesOf(t, s).AddPage(ctx, NewPage(a.ID, "", func(p *incident.Page) { p.ExternalID = "Q3" })),
			"an empty dedup key never conflicts")
	}

	RequireCode(t, pagesOf(t, s).AddPage(ctx, NewPage(a.ID+b.ID+1000, "INC-404")), incident.ENOTFOUND)
	RequireCode(t, pagesOf(t, s).AddPage(ctx, NewPage(a.ID, "INC-x", func(p *incident.Page) { p.Provider = "" })), incident.EINVALID)
	RequireCode(t, pagesOf(t, s).AddPage(ctx, nil), incident.EINVALID)

	got, err := s.ListPages(ctx, a.ID)
	require.NoError(t, err)
	require.Len(t, got, 4)
	got, err = s.ListPages(ctx, b.ID)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testUpdatePage(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	b := create(t, s)
	page := NewPage(a.ID, "INC-1", func(p *incident.Page) { p.ExternalID = "" })
	require.NoError(t, pagesOf(t, s).AddPage(ctx, page))
	taken := NewPage(a.ID, "INC-1-backup")
	require.NoError(t, pagesOf(t, s).AddPage(ctx, taken))

	got, err := pagesOf(t, s).UpdatePage(ctx, page.ID, func(p *incident.Page) error {
		require.Equal(t, page, p, "fn sees the stored page")
		p.ID, p.IncidentID = 999999, b.ID // ignored
		p.CreatedAt = time.Time{}         // keeps the stored time
		p.ExternalID = "Q1ABCDEF"
		p.Status = "acknowledged"
		p.AcknowledgedAt = ptr(at(4))
		p.AcknowledgedBy = "Grace Hopper"
		p.Assignees = []string{"Grace Hopper"}
		p.Retriggers = 2
		p.StatusAt = ptr(at(3))
		return nil
	})
	require.NoError(t, err)
	want := *page
	want.ExternalID, want.Status, want.AcknowledgedAt, want.AcknowledgedBy = "Q1ABCDEF", "acknowledged", ptr(at(4)), "Grace Hopper"
	want.Assignees, want.Retriggers, want.StatusAt = []string{"Grace Hopper"}, 2, ptr(at(3))
	require.Equal(t, &want, got)
	found, err := pagesOf(t, s).FindPage(ctx, "pagerduty", "Q1ABCDEF")
	require.NoError(t, err)
	require.Equal(t, &want, found, "findable by the new external id")
	list, err := s.ListPages(ctx, b.ID)
	require.NoError(t, err)
	require.Empty(t, list, "the page stays with its incident")

	got, err = pagesOf(t, s).UpdatePage(ctx, page.ID, func(p *incident.Page) error {
		p.Status, p.ResolvedAt, p.Assignees = "resolved", ptr(at(30)), nil
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, ptr(at(30)), got.ResolvedAt)
	require.Nil(t, got.Assignees)
	want = *got

	called := false
	_, err = pagesOf(t, s).UpdatePage(ctx, page.ID+taken.ID+1000, func(*incident.Page) error {
		called = true
		return nil
	})
	RequireCode(t, err, incident.ENOTFOUND)
	require.False(t, called)

	sentinel := errors.New("stale webhook")
	_, err = pagesOf(t, s).UpdatePage(ctx, page.ID, func(p *incident.Page) error {
		p.Status = "triggered"
		return sentinel
	})
	require.Same(t, sentinel, err, "fn's error is returned as is")
	_, err = pagesOf(t, s).UpdatePage(ctx, page.ID, func(p *incident.Page) error {
		p.DedupKey, p.Status = taken.DedupKey, "triggered"
		return nil
	})
	RequireCode(t, err, incident.ECONFLICT)
	_, err = pagesOf(t, s).UpdatePage(ctx, page.ID, func(p *incident.Page) error {
		p.Provider, p.Status = "", "triggered"
		return nil
	})
	RequireCode(t, err, incident.EINVALID)

	found, err = pagesOf(t, s).FindPage(ctx, "pagerduty", "INC-1")
	require.NoError(t, err)
	require.Equal(t, &want, found, "nothing was written")
}

// testConcurrentPageUpdates appends to a page's Assignees from several
// goroutines, as concurrent webhooks do; lost updates would leave names out.
func testConcurrentPageUpdates(t *testing.T, s Store) {
	ctx := context.Background()
	pages := pagesOf(t, s)
	page := NewPage(create(t, s).ID, "INC-1", func(p *incident.Page) { p.Assignees = nil })
	require.NoError(t, pages.AddPage(ctx, page))
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[g] = pages.UpdatePage(ctx, page.ID, func(p *incident.Page) error {
				p.Assignees = append(p.Assignees, fmt.Sprintf("responder %d", g))
				return nil
			})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	got, err := pagesOf(t, s).FindPage(ctx, "pagerduty", "INC-1")
	require.NoError(t, err)
	require.Len(t, got.Assignees, n)
}

// testInstallationID: a store names its installation with an id made once
// (incident.NewInstallationID), the same on every call and for callers
// asking at once.
func testInstallationID(t *testing.T, s Store) {
	ctx := context.Background()
	st, ok := s.(interface {
		InstallationID(ctx context.Context) (string, error)
	})
	require.True(t, ok, "%T keeps no installation id (incident/paging's Store)", s)
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := st.InstallationID(ctx)
			assert.NoError(t, err)
			ids[i] = id
		}()
	}
	wg.Wait()
	require.Regexp(t, fmt.Sprintf("^[a-z]{%d}$", incident.InstallationIDLength), ids[0])
	for _, id := range ids {
		require.Equal(t, ids[0], id, "one installation, one id")
	}
}
