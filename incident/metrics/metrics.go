// Package metrics computes the numbers across incidents that a weekly review
// asks for: mean and percentile times to acknowledge (MTTA), mitigate (MTTM),
// resolve (MTTR) and between failures (MTBF), by severity and by service,
// incidents per week, the share resolved by a rollback, status-update and
// status-page compliance, and open and overdue follow-ups.
//
// Compute is a pure function of the incidents' facts, so the maths is tested
// on fixed data; Service gathers those facts from an incident.Store.
// Drills are left out unless a query asks for them.
package metrics

import (
	"math"
	"sort"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// StatusPageTarget is how soon after declaring a P1 the first public
// status-page update is due (the incident practice: within 10 minutes).
const StatusPageTarget = 10 * time.Minute

// NoService is the group key of incidents declared without a service.
const NoService = "(none)"

// Facts is one incident and what was recorded about it.
type Facts struct {
	Incident    *incident.Incident
	Timeline    []incident.TimelineEvent
	Updates     []incident.StatusUpdate
	ActionItems []incident.ActionItem
	Rollbacks   []incident.Rollback
}

// Stat summarises a set of durations. Count is zero when there was nothing
// to measure; the other fields are then zero too.
type Stat struct {
	Count int
	Mean  time.Duration
	P50   time.Duration
	P90   time.Duration
	P95   time.Duration
	Max   time.Duration
}

// Group is the numbers for one slice of the incidents: all of them, one
// severity, or one service.
type Group struct {
	// Key is "all", a severity ("P1") or a service key (NoService for none).
	Key       string
	Incidents int
	// MTTA runs from declaration to the first acknowledgement, MTTM to
	// mitigation (or resolution when the incident skipped mitigated), MTTR
	// to resolution.
	MTTA Stat
	MTTM Stat
	MTTR Stat
	// MTBF is the time between failures: the gaps between the group's
	// incidents once overlapping incidents are merged into one outage. An
	// open incident lasts until the report's end.
	MTBF Stat
}

// Week counts the incidents declared in one week.
type Week struct {
	// Start is the Monday 00:00 that begins the week, in the report's zone.
	Start      time.Time
	Total      int
	BySeverity map[incident.Severity]int
}

// Compliance counts how many incidents met a target out of those it
// applied to.
type Compliance struct {
	Applicable int
	Met        int
}

// Share returns Met/Applicable, or -1 when the target applied to nothing.
func (c Compliance) Share() float64 {
	if c.Applicable == 0 {
		return -1
	}
	return float64(c.Met) / float64(c.Applicable)
}

// Report is the numbers across the incidents of a period.
type Report struct {
	From, To time.Time
	// Service is the service the report was narrowed to; "" for all.
	Service       string
	IncludeDrills bool

	Overall    Group
	BySeverity []Group // P1 to P4, each present even when empty
	ByService  []Group // sorted by key
	Weekly     []Week  // every week that overlaps the period, oldest first

	// Rollback counts resolved incidents, and among them those resolved by
	// a rollback that succeeded before resolution.
	Rollback Compliance
	// Updates counts incidents with an update cadence, and among them those
	// whose every gap between status updates (from declaration until
	// mitigation or resolution) stayed within the cadence.
	Updates Compliance
	// Nags is how many update nags were sent.
	Nags int
	// StatusPage counts P1 incidents, and among them those whose first
	// public status-page update came within StatusPageTarget.
	StatusPage Compliance
	// ActionItems counts follow-ups: all, still open, and open past their
	// due date.
	ActionItems  int
	OpenItems    int
	OverdueItems int
}

// Options are the settings Compute needs besides the facts.
type Options struct {
	From, To time.Time
	Service  string
	// IncludeDrills is recorded in the report; Compute itself measures the
	// facts it is given.
	IncludeDrills bool
	// Now decides whether a follow-up is overdue and where open incidents
	// end; zero means To.
	Now    time.Time
	Policy incident.Policy
	// FirstPublicUpdate returns when an incident's first status-page update
	// was published; nil means DefaultFirstPublicUpdate.
	FirstPublicUpdate func(Facts) (time.Time, bool)
}

// DefaultFirstPublicUpdate finds the first public status-page post in the
// incident's timeline.
func DefaultFirstPublicUpdate(f Facts) (time.Time, bool) {
	return incident.FirstPublicPost(f.Timeline)
}

// Compute measures the incidents in facts. It does not filter them: the
// caller passes the incidents of the period (Service does).
func Compute(facts []Facts, opt Options) Report {
	m := newMeasure(opt)
	r := Report{From: opt.From, To: opt.To, Service: opt.Service, IncludeDrills: opt.IncludeDrills}
	sorted := byDeclaration(facts)
	r.Overall = group("all", sorted, m.now)
	r.BySeverity = groupBySeverity(sorted, m.now)
	r.ByService = groupByService(sorted, m.now)
	r.Weekly = weeks(sorted, opt.From, opt.To, m.loc)
	for _, f := range sorted {
		m.compliance(&r, f)
		m.actionItems(&r, f)
	}
	return r
}

// measure is Compute's settings with their defaults filled in.
type measure struct {
	now         time.Time
	loc         *time.Location
	policy      incident.Policy
	firstPublic func(Facts) (time.Time, bool)
}

func newMeasure(opt Options) measure {
	m := measure{now: opt.Now, loc: opt.Policy.Location, policy: opt.Policy, firstPublic: opt.FirstPublicUpdate}
	if m.now.IsZero() {
		m.now = opt.To
	}
	if m.firstPublic == nil {
		m.firstPublic = DefaultFirstPublicUpdate
	}
	if m.loc == nil {
		m.loc = time.UTC
	}
	return m
}

// byDeclaration returns the facts oldest declaration first, by id on a tie.
func byDeclaration(facts []Facts) []Facts {
	sorted := append([]Facts(nil), facts...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i].Incident, sorted[j].Incident
		if !a.DeclaredAt.Equal(b.DeclaredAt) {
			return a.DeclaredAt.Before(b.DeclaredAt)
		}
		return a.ID < b.ID
	})
	return sorted
}

// groupBySeverity is a group for each severity, P1 to P4, even when empty.
func groupBySeverity(facts []Facts, now time.Time) []Group {
	var out []Group
	for sev := incident.P1; sev <= incident.P4; sev++ {
		var in []Facts
		for _, f := range facts {
			if f.Incident.Severity == sev {
				in = append(in, f)
			}
		}
		out = append(out, group(sev.String(), in, now))
	}
	return out
}

// groupByService is a group for each service seen, sorted by key; incidents
// without a service are grouped under NoService.
func groupByService(facts []Facts, now time.Time) []Group {
	byService := map[string][]Facts{}
	for _, f := range facts {
		key := f.Incident.Service
		if key == "" {
			key = NoService
		}
		byService[key] = append(byService[key], f)
	}
	keys := make([]string, 0, len(byService))
	for k := range byService {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Group
	for _, k := range keys {
		out = append(out, group(k, byService[k], now))
	}
	return out
}

// compliance counts the incident against the rollback, update cadence and
// status-page targets, and counts its nags.
func (m measure) compliance(r *Report, f Facts) {
	inc := f.Incident
	if inc.ResolvedAt != nil {
		r.Rollback.count(resolvedByRollback(f))
	}
	if cadence := m.policy.Severity(inc.Severity).UpdateEvery; cadence > 0 {
		r.Updates.count(updatesKept(f, cadence, m.now))
	}
	for _, ev := range f.Timeline {
		if ev.Kind == incident.EventNag {
			r.Nags++
		}
	}
	if inc.Severity == incident.P1 {
		at, ok := m.firstPublic(f)
		r.StatusPage.count(ok && at.Sub(inc.DeclaredAt) <= StatusPageTarget)
	}
}

// actionItems counts the incident's follow-ups: all, open and overdue.
func (m measure) actionItems(r *Report, f Facts) {
	for _, a := range f.ActionItems {
		r.ActionItems++
		if a.Done {
			continue
		}
		r.OpenItems++
		if a.DueOn != nil && overdue(*a.DueOn, m.now, m.loc) {
			r.OverdueItems++
		}
	}
}

// count adds one incident the target applied to, and whether it was met.
func (c *Compliance) count(met bool) {
	c.Applicable++
	if met {
		c.Met++
	}
}

// overdue reports whether a follow-up due on the given day is late at now:
// it is due by the end of that day in the policy's zone.
func overdue(due, now time.Time, loc *time.Location) bool {
	d := due.In(loc)
	end := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, 1)
	return !now.Before(end)
}

func group(key string, facts []Facts, now time.Time) Group {
	g := Group{Key: key, Incidents: len(facts)}
	var tta, ttm, ttr []time.Duration
	for _, f := range facts {
		inc := f.Incident
		if inc.AcknowledgedAt != nil {
			tta = append(tta, nonNegative(inc.AcknowledgedAt.Sub(inc.DeclaredAt)))
		}
		if m := mitigatedAt(inc); m != nil {
			ttm = append(ttm, nonNegative(m.Sub(inc.DeclaredAt)))
		}
		if inc.ResolvedAt != nil {
			ttr = append(ttr, nonNegative(inc.ResolvedAt.Sub(inc.DeclaredAt)))
		}
	}
	g.MTTA, g.MTTM, g.MTTR = Summarise(tta), Summarise(ttm), Summarise(ttr)
	g.MTBF = Summarise(BetweenFailures(facts, now))
	return g
}

func mitigatedAt(inc *incident.Incident) *time.Time {
	if inc.MitigatedAt != nil {
		return inc.MitigatedAt
	}
	return inc.ResolvedAt
}

func nonNegative(d time.Duration) time.Duration { return max(d, 0) }

// BetweenFailures returns the up-times between the incidents: each incident
// is an outage from declaration to resolution (to now while unresolved);
// overlapping outages merge into one; the gaps between outages are the
// times between failures.
func BetweenFailures(facts []Facts, now time.Time) []time.Duration {
	type window struct{ start, end time.Time }
	ws := make([]window, 0, len(facts))
	for _, f := range facts {
		inc := f.Incident
		end := now
		if inc.ResolvedAt != nil {
			end = *inc.ResolvedAt
		}
		if end.Before(inc.DeclaredAt) {
			end = inc.DeclaredAt
		}
		ws = append(ws, window{inc.DeclaredAt, end})
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].start.Before(ws[j].start) })
	var gaps []time.Duration
	for i := 0; i < len(ws); i++ {
		if i == 0 {
			continue
		}
		prev := ws[i-1]
		if !ws[i].start.After(prev.end) {
			// Overlap: merge into the previous outage.
			if ws[i].end.Before(prev.end) {
				ws[i].end = prev.end
			}
			ws[i].start = prev.start
			continue
		}
		gaps = append(gaps, ws[i].start.Sub(prev.end))
	}
	return gaps
}

// Summarise returns the mean, the 50th, 90th and 95th percentiles
// (nearest-rank) and the maximum of ds.
func Summarise(ds []time.Duration) Stat {
	if len(ds) == 0 {
		return Stat{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Stat{
		Count: len(s),
		Mean:  sum / time.Duration(len(s)),
		P50:   Percentile(s, 50),
		P90:   Percentile(s, 90),
		P95:   Percentile(s, 95),
		Max:   s[len(s)-1],
	}
}

// Percentile returns the p-th percentile of sorted by the nearest-rank
// method: the smallest value with at least p% of the values at or below it.
// sorted must be ascending and not empty.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// resolvedByRollback reports whether a rollback succeeded before the
// incident was resolved.
func resolvedByRollback(f Facts) bool {
	for _, rb := range f.Rollbacks {
		if rb.Status == incident.RollbackSucceeded && !rb.UpdatedAt.After(*f.Incident.ResolvedAt) {
			return true
		}
	}
	return false
}

// updatesKept reports whether every stretch without a status update, from
// declaration until mitigation or resolution (until now while neither),
// stayed within the cadence.
func updatesKept(f Facts, cadence time.Duration, now time.Time) bool {
	inc := f.Incident
	end := now
	if m := mitigatedAt(inc); m != nil {
		end = *m
	}
	last := inc.DeclaredAt
	posts := make([]time.Time, 0, len(f.Updates))
	for _, u := range f.Updates {
		posts = append(posts, u.PostedAt)
	}
	sort.Slice(posts, func(i, j int) bool { return posts[i].Before(posts[j]) })
	for _, at := range posts {
		if at.After(end) {
			break
		}
		if at.Sub(last) > cadence {
			return false
		}
		last = at
	}
	return end.Sub(last) <= cadence
}

// weeks counts incidents per week, Monday to Monday in loc, for every week
// overlapping [from, to).
func weeks(facts []Facts, from, to time.Time, loc *time.Location) []Week {
	if from.IsZero() || !to.After(from) {
		return nil
	}
	start := weekStart(from, loc)
	var out []Week
	index := map[time.Time]int{}
	for w := start; w.Before(to); w = w.AddDate(0, 0, 7) {
		index[w] = len(out)
		out = append(out, Week{Start: w, BySeverity: map[incident.Severity]int{}})
	}
	for _, f := range facts {
		i, ok := index[weekStart(f.Incident.DeclaredAt, loc)]
		if !ok {
			continue
		}
		out[i].Total++
		out[i].BySeverity[f.Incident.Severity]++
	}
	return out
}

func weekStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	offset := (int(day.Weekday()) + 6) % 7 // Monday is 0
	return day.AddDate(0, 0, -offset)
}
