package incident

import (
	"context"
	"time"
)

// The store is split by role: each part of the core, and each feature
// package, depends only on the narrow interfaces it uses. Every method runs
// in one transaction. Implementations translate their errors into *Error:
// ENOTFOUND when a row is missing and ECONFLICT when a uniqueness rule holds.

// IncidentStore keeps the incidents themselves.
type IncidentStore interface {
	// CreateIncident stores a new incident, assigning ID and Number. When an
	// incident with the same DeclareKey exists it returns that incident and
	// an ECONFLICT error, so a repeated declare never creates a second one.
	CreateIncident(ctx context.Context, inc *Incident) (*Incident, error)
	// GetIncident returns ENOTFOUND when no incident has the id.
	GetIncident(ctx context.Context, id int64) (*Incident, error)
	// GetIncidentByNumber returns ENOTFOUND when no incident has the number.
	GetIncidentByNumber(ctx context.Context, number int64) (*Incident, error)
	// GetIncidentByChannel returns ENOTFOUND when no incident owns the channel.
	GetIncidentByChannel(ctx context.Context, channelID string) (*Incident, error)
	// ListIncidents returns the incidents filter selects, in its Order:
	// most severe first, then newest first (OrderSeverity), or newest first
	// (OrderNewest), ties on the declared time broken by the higher ID. A
	// Limit of zero or less means no limit; with OrderNewest a Limit bounds
	// the rows read, and filter.After reads the next page.
	ListIncidents(ctx context.Context, filter IncidentFilter) ([]*Incident, error)
	// UpdateIncident reads the incident, calls fn on it and writes it back
	// with the events fn returns, all in one transaction. fn's error aborts
	// the update and is returned as is. ENOTFOUND when the id is unknown.
	UpdateIncident(ctx context.Context, id int64, fn func(*Incident) ([]TimelineEvent, error)) (*Incident, error)
}

// TimelineStore keeps an incident's timeline.
type TimelineStore interface {
	// AddTimelineEvent stores an event. An event whose IncidentID and
	// non-empty SourceID are already stored returns ECONFLICT.
	AddTimelineEvent(ctx context.Context, ev *TimelineEvent) error
	// ListTimeline returns an incident's events, oldest first.
	ListTimeline(ctx context.Context, incidentID int64) ([]TimelineEvent, error)
	// UpdateTimelineEvent changes the stored event with this IncidentID and
	// SourceID (a message edited or deleted in Slack). ENOTFOUND when none.
	UpdateTimelineEvent(ctx context.Context, incidentID int64, sourceID string, fn func(*TimelineEvent) error) (*TimelineEvent, error)
}

// TimelineBatcher is a TimelineStore that stores several events in one
// write. A declare's first events go through it when its transaction offers
// it (addEvents). The events get their IDs and defaulted At; a repeated
// SourceID fails the whole batch with ECONFLICT, and on a database where a
// failed statement ends the transaction it ends it, so events that may
// repeat go one by one through AddTimelineEvent.
type TimelineBatcher interface {
	AddTimelineEvents(ctx context.Context, evs []TimelineEvent) error
}

// IncidentOpener is an IncidentStore that stores a new incident and its
// first timeline events in one write: a declare's Tx offers it, and
// createIncident uses it when offered.
type IncidentOpener interface {
	// CreateIncidentWith stores inc as CreateIncident does and, when it is
	// stored, the events first returns for it, or none of them. first is
	// called at most once, with the incident as it will be stored except for its ID
	// and, on a database that numbers the incident in that same write, its
	// Number: a stand-in, whose Key the store replaces with the incident's
	// own key wherever it appears in the events' Text. So first names the
	// incident only by Key, and only in Text. The events' IncidentID is set
	// by the store. A repeated DeclareKey returns the stored incident and
	// ECONFLICT, and stores no events.
	CreateIncidentWith(ctx context.Context, inc *Incident, first func(*Incident) []TimelineEvent) (*Incident, error)
}

// createIncident stores inc and the events first returns for it, in one
// write when tx offers it (IncidentOpener), else in two.
func createIncident(ctx context.Context, tx Tx, inc *Incident, first func(*Incident) []TimelineEvent) (*Incident, error) {
	if o, ok := tx.(IncidentOpener); ok {
		return o.CreateIncidentWith(ctx, inc, first)
	}
	out, err := tx.CreateIncident(ctx, inc)
	if err != nil {
		return out, err
	}
	return out, addEvents(ctx, tx, first(out))
}

// addEvents stores evs on ts, in one write when it can.
func addEvents(ctx context.Context, ts TimelineStore, evs []TimelineEvent) error {
	if b, ok := ts.(TimelineBatcher); ok && len(evs) > 1 {
		return b.AddTimelineEvents(ctx, evs)
	}
	for i := range evs {
		if err := ts.AddTimelineEvent(ctx, &evs[i]); err != nil {
			return err
		}
	}
	return nil
}

// UpdateStore keeps the IC's status updates.
type UpdateStore interface {
	// AddStatusUpdate stores an update and its timeline event.
	AddStatusUpdate(ctx context.Context, u *StatusUpdate) error
	// ListStatusUpdates returns an incident's updates, oldest first.
	ListStatusUpdates(ctx context.Context, incidentID int64) ([]StatusUpdate, error)
}

// ActionItemStore keeps follow-ups.
type ActionItemStore interface {
	// AddActionItem stores a follow-up.
	AddActionItem(ctx context.Context, a *ActionItem) error
	// ListActionItems returns an incident's follow-ups, oldest first.
	ListActionItems(ctx context.Context, incidentID int64) ([]ActionItem, error)
}

// DeliveryStore remembers webhook deliveries, so a redelivery is taken once.
type DeliveryStore interface {
	// RecordDelivery stores a delivery and reports whether it is the first
	// time this Source+ID was seen.
	RecordDelivery(ctx context.Context, d Delivery) (first bool, err error)
	// PurgeDeliveries removes delivery records received before the cutoff.
	PurgeDeliveries(ctx context.Context, before time.Time) (int64, error)
}

// ReplayStore shares the signatures of the Slack requests each process
// accepted, a batch a row, so that every process can refuse a replay of a
// request another accepted.
type ReplayStore interface {
	// RecordReplayBatch stores a batch; it needs an instance and at least
	// one key (EINVALID), and a zero RecordedAt becomes the clock's now.
	RecordReplayBatch(ctx context.Context, b ReplayBatch) error
	// ReplayBatchesSince returns the batches recorded at or after since by
	// every instance but except, in the order they were stored.
	ReplayBatchesSince(ctx context.Context, since time.Time, except string) ([]ReplayBatch, error)
	// PurgeReplayBatches removes the batches recorded before the cutoff.
	PurgeReplayBatches(ctx context.Context, before time.Time) (int64, error)
}

// LeaseStore hands out leases: exclusive claims on a name that end by
// themselves. A lease serialises outbound work that must not run twice at
// once (a post to a provider that takes no idempotency key) across
// replicas, without a transaction held open across the call; a holder that
// dies blocks the others only until its lease ends.
type LeaseStore interface {
	// AcquireLease claims the lease named key for holder, for ttl from the
	// store's clock's now, when nobody holds it, its holder's time is up,
	// or holder holds it already (the lease is then extended). It reports
	// false, with no error, while another holder has it. An empty key or
	// holder, or a ttl under a millisecond, is EINVALID.
	AcquireLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease ends holder's lease on key at once. A lease that is not
	// holder's (its time was up and another holder took it) is left alone.
	// It also deletes every lease whose time is up, on any key: a holder
	// that died leaves no row behind once any lease is released.
	ReleaseLease(ctx context.Context, key, holder string) error
}

// ExportStore records where postmortems were exported.
type ExportStore interface {
	// SaveExport records where an incident's postmortem was exported,
	// replacing the earlier record for the same target.
	SaveExport(ctx context.Context, incidentID int64, ref ExportRef) error
	// GetExport returns the export record; ENOTFOUND when never exported.
	GetExport(ctx context.Context, incidentID int64, target string) (*ExportRef, error)
}

// PageReader reads an incident's pages.
type PageReader interface {
	// ListPages returns an incident's pages, oldest first (the response
	// check offers a Re-page button for each one nobody acknowledged).
	// incident/paging's Store records and changes them.
	ListPages(ctx context.Context, incidentID int64) ([]Page, error)
}

// IncidentRecord is what was recorded about one incident besides the
// incident itself, each list in the order of its own List method
// (ListTimeline, ListStatusUpdates, ListActionItems, ListRollbacks); a
// list with nothing in it is nil.
type IncidentRecord struct {
	Timeline    []TimelineEvent
	Updates     []StatusUpdate
	ActionItems []ActionItem
	Rollbacks   []Rollback
}

// ReportReader reads the records of many incidents at once, for the
// reports across incidents: a fixed number of queries however many
// incidents there are. It is kept out of Store, which holds at most twelve
// roles; gormstore.Store and incidenttest.MemStore, and their Tx, implement
// it.
type ReportReader interface {
	// ListIncidentRecords returns the records of the incidents with these
	// ids, keyed by id. An incident with nothing recorded, and an id no
	// incident has, has no entry: its record is the zero IncidentRecord.
	ListIncidentRecords(ctx context.Context, ids []int64) (map[int64]IncidentRecord, error)
}

// Pinger checks that the store is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Transactor runs several store calls and jobs as one transaction.
type Transactor interface {
	// Atomic runs fn in one transaction: every store call made on tx and
	// every job scheduled on tx take effect together when fn returns nil,
	// and none of them does when fn returns an error or panics. fn's error
	// is returned as is; a failed commit is EUNAVAILABLE. A store call on
	// tx that fails (ECONFLICT, ENOTFOUND ...) undoes only its own writes,
	// so fn may handle the error and go on.
	//
	// While fn runs it must use tx only: a call on the store itself, or on
	// a Scheduler outside tx, may wait for the transaction's own connection
	// (SQLite has one) and never return. Calling Atomic on tx runs fn in the
	// same transaction. Keep slow work (outbound calls) out of fn: it holds
	// row locks until it returns.
	Atomic(ctx context.Context, fn func(tx Tx) error) error
}

// Store is the whole store, every role in one, for wiring: gormstore and
// incidenttest.MemStore implement it. No part of the domain depends on it;
// each takes the roles it uses.
type Store interface {
	IncidentStore
	TimelineStore
	UpdateStore
	ActionItemStore
	DeliveryStore
	ReplayStore
	ExportStore
	LeaseStore
	PageReader
	AlertStore
	Pinger
	Transactor
}

// Tx is the store and a Scheduler bound to one transaction; see
// Transactor.Atomic. Schedule on a Tx stores the job only if the
// transaction commits, which is how a step makes its rows and the jobs that
// finish its work one fact. It carries the incident and timeline roles the
// core changes in a transaction; a feature package asserts the Tx to its own
// store interface for its rows (the stores' Tx implements every role).
type Tx interface {
	IncidentStore
	TimelineStore
	UpdateStore
	Scheduler
	Transactor
}

// Clock tells the time. The domain never calls time.Now directly.
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// SystemClock is the wall clock, in UTC.
var SystemClock Clock = ClockFunc(func() time.Time { return time.Now().UTC() })
