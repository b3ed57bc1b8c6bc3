package incidenttest_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

func TestNewIncident(t *testing.T) {
	t.Parallel()
	inc := incidenttest.NewIncident()
	require.NoError(t, inc.Validate(), "the defaults are a valid incident")
	require.Zero(t, inc.ID)
	require.Zero(t, inc.Number)
	require.Equal(t, incidenttest.Epoch(), inc.DeclaredAt)

	inc = incidenttest.NewIncident(
		func(i *incident.Incident) { i.Severity = incident.P1 },
		func(i *incident.Incident) { i.Title = "search is slow" },
	)
	require.Equal(t, incident.P1, inc.Severity)
	require.Equal(t, "search is slow", inc.Title)

	require.NotSame(t, incidenttest.NewIncident(), incidenttest.NewIncident())
}

func TestOtherFactories(t *testing.T) {
	t.Parallel()
	ev := incidenttest.NewTimelineEvent(7, func(e *incident.TimelineEvent) { e.SourceID = "Ev1" })
	require.Equal(t, int64(7), ev.IncidentID)
	require.Equal(t, incident.EventNote, ev.Kind)
	require.Equal(t, "Ev1", ev.SourceID)

	c := incidenttest.NewChangeEvent("d1")
	require.Equal(t, "d1", c.ExternalID)
	require.Equal(t, incident.ChangeDeploy, c.Kind)
	require.NotEmpty(t, c.Source)

	p := incidenttest.NewPage(7, "INC-1", func(p *incident.Page) { p.Status = "acknowledged" })
	require.Equal(t, int64(7), p.IncidentID)
	require.Equal(t, "INC-1", p.DedupKey)
	require.Equal(t, "acknowledged", p.Status)
	require.NotEmpty(t, p.Provider)

	r := incidenttest.NewRollback(7, "deploy:d1", func(r *incident.Rollback) { r.RequestedBy = "U0OTHER" })
	require.Equal(t, int64(7), r.IncidentID)
	require.Equal(t, "deploy:d1", r.Key)
	require.Equal(t, r.Key, r.Plan.Key, "the rollback's key is its plan's")
	require.Equal(t, incident.RollbackAwaitingApproval, r.Status)
	require.Equal(t, "U0OTHER", r.RequestedBy)
}

func TestClock(t *testing.T) {
	t.Parallel()
	c := incidenttest.NewClock(time.Time{})
	require.Equal(t, incidenttest.Epoch(), c.Now())
	require.Equal(t, incidenttest.Epoch().Add(time.Minute), c.Advance(time.Minute))
	require.Equal(t, incidenttest.Epoch().Add(time.Minute), c.Now())
	later := incidenttest.Epoch().Add(time.Hour)
	c.Set(later)
	require.Equal(t, later, c.Now())
	var _ incident.Clock = c
}

// TestMemStoreUsesClock pins what the shared suite cannot see: defaulted
// times come from the injected clock.
func TestMemStoreUsesClock(t *testing.T) {
	t.Parallel()
	clock := incidenttest.NewClock(time.Time{})
	s := incidenttest.NewMemStore(clock)
	inc, err := s.CreateIncident(t.Context(), &incident.Incident{Title: "t", Severity: incident.P2})
	require.NoError(t, err)
	require.Equal(t, incidenttest.Epoch(), inc.DeclaredAt)
	require.Equal(t, incidenttest.Epoch(), inc.UpdatedAt)

	clock.Advance(time.Hour)
	updated, err := s.UpdateIncident(t.Context(), inc.ID, func(*incident.Incident) ([]incident.TimelineEvent, error) {
		return []incident.TimelineEvent{{Kind: incident.EventNote}}, nil
	})
	require.NoError(t, err)
	require.Equal(t, incidenttest.Epoch().Add(time.Hour), updated.UpdatedAt)
	events, err := s.ListTimeline(t.Context(), inc.ID)
	require.NoError(t, err)
	require.Equal(t, incidenttest.Epoch().Add(time.Hour), events[0].At)

	page := incidenttest.NewPage(inc.ID, "INC-1", func(p *incident.Page) { p.CreatedAt = time.Time{} })
	require.NoError(t, s.AddPage(t.Context(), page))
	require.Equal(t, incidenttest.Epoch().Add(time.Hour), page.CreatedAt)

	rb := incidenttest.NewRollback(inc.ID, "deploy:d1")
	require.NoError(t, s.AddRollback(t.Context(), rb))
	require.Equal(t, incidenttest.Epoch().Add(time.Hour), rb.CreatedAt)
	require.Equal(t, rb.CreatedAt, rb.UpdatedAt)
	clock.Advance(time.Minute)
	rb2, err := s.UpdateRollback(t.Context(), rb.ID, func(r *incident.Rollback) error {
		r.Status = incident.RollbackRunning
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, rb.CreatedAt, rb2.CreatedAt)
	require.Equal(t, incidenttest.Epoch().Add(time.Hour+time.Minute), rb2.UpdatedAt)
}
