package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// MaxPeriod bounds a report's period, so one request cannot read the whole
// history of a large workspace.
const MaxPeriod = 366 * 24 * time.Hour

// Query selects the incidents a report covers.
type Query struct {
	// From and To bound the declaration time: From <= declared < To.
	From, To time.Time
	// Service narrows the report to one service; "" means every service.
	Service string
	// IncludeDrills counts practice incidents too.
	IncludeDrills bool
}

// Validate checks the period.
func (q Query) Validate() error {
	switch {
	case q.From.IsZero() || q.To.IsZero():
		return incident.Errorf(incident.EINVALID, "A report needs a start and an end.")
	case !q.To.After(q.From):
		return incident.Errorf(incident.EINVALID, "The report's end must come after its start.")
	case q.To.Sub(q.From) > MaxPeriod:
		return incident.Errorf(incident.EINVALID, "A report covers at most a year.")
	}
	return nil
}

// Source is what Service reads: the incident store's read methods.
type Source interface {
	ListIncidents(ctx context.Context, filter incident.IncidentFilter) ([]*incident.Incident, error)
	ListTimeline(ctx context.Context, incidentID int64) ([]incident.TimelineEvent, error)
	ListStatusUpdates(ctx context.Context, incidentID int64) ([]incident.StatusUpdate, error)
	ListActionItems(ctx context.Context, incidentID int64) ([]incident.ActionItem, error)
	ListRollbacks(ctx context.Context, incidentID int64) ([]incident.Rollback, error)
}

// Service builds reports from the store.
type Service struct {
	src    Source
	policy incident.Policy
	clock  incident.Clock
	// FirstPublicUpdate overrides DefaultFirstPublicUpdate when set.
	FirstPublicUpdate func(Facts) (time.Time, bool)
}

// NewService returns a Service reading src.
func NewService(src Source, policy incident.Policy, clock incident.Clock) *Service {
	if clock == nil {
		clock = incident.SystemClock
	}
	return &Service{src: src, policy: policy, clock: clock}
}

// Facts reads the incidents q selects and everything recorded about them,
// oldest first. EINVALID when q is not a valid period.
func (s *Service) Facts(ctx context.Context, q Query) ([]Facts, error) {
	incs, err := s.Incidents(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.FactsOf(ctx, incs)
}

// Incidents returns the incidents q selects, as Facts reads them, so that
// a caller may leave out those a person may not see before anything else
// of them is read. EINVALID when q is not a valid period.
func (s *Service) Incidents(ctx context.Context, q Query) ([]*incident.Incident, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	incs, err := s.src.ListIncidents(ctx, incident.IncidentFilter{
		Service: q.Service, DeclaredFrom: q.From, DeclaredBefore: q.To, ExcludeDrills: !q.IncludeDrills,
	})
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return incs, nil
}

// FactsOf reads everything recorded about incs: with one store call on a
// store that reads the records of many incidents at once (a fixed number
// of queries however many incidents there are), else incident by incident.
func (s *Service) FactsOf(ctx context.Context, incs []*incident.Incident) ([]Facts, error) {
	if r, ok := s.src.(incident.ReportReader); ok {
		ids := make([]int64, len(incs))
		for i, inc := range incs {
			ids[i] = inc.ID
		}
		records, err := r.ListIncidentRecords(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
		return FromRecords(incs, records), nil
	}
	out := make([]Facts, 0, len(incs))
	for _, inc := range incs {
		var (
			f   = Facts{Incident: inc}
			err error
		)
		if f.Timeline, err = s.src.ListTimeline(ctx, inc.ID); err != nil {
			return nil, fmt.Errorf("metrics: timeline of %s: %w", inc.Key(), err)
		}
		if f.Updates, err = s.src.ListStatusUpdates(ctx, inc.ID); err != nil {
			return nil, fmt.Errorf("metrics: updates of %s: %w", inc.Key(), err)
		}
		if f.ActionItems, err = s.src.ListActionItems(ctx, inc.ID); err != nil {
			return nil, fmt.Errorf("metrics: follow-ups of %s: %w", inc.Key(), err)
		}
		if f.Rollbacks, err = s.src.ListRollbacks(ctx, inc.ID); err != nil {
			return nil, fmt.Errorf("metrics: rollbacks of %s: %w", inc.Key(), err)
		}
		out = append(out, f)
	}
	return out, nil
}

// FromRecords pairs each of incs with its record (incident.ReportReader's):
// an incident with no record has none of its parts.
func FromRecords(incs []*incident.Incident, records map[int64]incident.IncidentRecord) []Facts {
	out := make([]Facts, len(incs))
	for i, inc := range incs {
		rec := records[inc.ID]
		out[i] = Facts{Incident: inc, Timeline: rec.Timeline, Updates: rec.Updates, ActionItems: rec.ActionItems, Rollbacks: rec.Rollbacks}
	}
	return out
}

// Report computes the numbers for q. EINVALID when q is not a valid period.
func (s *Service) Report(ctx context.Context, q Query) (Report, error) {
	facts, err := s.Facts(ctx, q)
	if err != nil {
		return Report{}, err
	}
	return s.Compute(facts, q), nil
}

// Compute measures facts already read for q (and perhaps narrowed, such as
// to the incidents a person may see) with the service's policy and clock.
func (s *Service) Compute(facts []Facts, q Query) Report {
	return Compute(facts, Options{From: q.From, To: q.To, Service: q.Service, IncludeDrills: q.IncludeDrills,
		Now: s.clock.Now(), Policy: s.policy, FirstPublicUpdate: s.FirstPublicUpdate})
}

// ParsePeriod reads a period such as "30d", "2w" or "12h" (days, weeks or
// hours). An empty string is the default, 30 days.
func ParsePeriod(text string) (time.Duration, error) {
	if text == "" {
		return 30 * 24 * time.Hour, nil
	}
	var n int
	var unit string
	if _, err := fmt.Sscanf(text, "%d%s", &n, &unit); err != nil || n <= 0 {
		return 0, incident.Errorf(incident.EINVALID, "Unknown period %q: use a number of days, weeks or hours, such as 30d, 2w or 12h.", text)
	}
	var size time.Duration
	switch unit {
	case "d":
		size = 24 * time.Hour
	case "w":
		size = 7 * 24 * time.Hour
	case "h":
		size = time.Hour
	default:
		return 0, incident.Errorf(incident.EINVALID, "Unknown period %q: use a number of days, weeks or hours, such as 30d, 2w or 12h.", text)
	}
	// Compared before multiplying, so a huge number cannot wrap round into
	// a period that passes.
	if n > int(MaxPeriod/size) {
		return 0, incident.Errorf(incident.EINVALID, "A report covers at most a year.")
	}
	d := time.Duration(n) * size
	return d, nil
}
