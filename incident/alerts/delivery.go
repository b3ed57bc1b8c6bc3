package alerts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// chunkSize bounds the alerts stored, or resolved, in one transaction. A
// storm of thousands takes a few transactions, each committed on its own:
// a delivery cut short (its deadline, a failure) keeps the chunks it
// wrote, and the sender's retry goes on from there.
const chunkSize = 250

// window is how many alerts of a delivery are read before the new ones
// among them are stored.
const window = chunkSize

// touchSize bounds the resends whose LastAt one transaction moves.
const touchSize = 500

// resendQuiet is how long after an alert was last delivered a resend of
// its firing writes nothing: a storm's copy from the other Alertmanager
// of an HA pair, or its retry after a 5xx, costs the database reads only.
// LastAt, which tells whether a group is still heard of (groupWindow, 4
// hours), is kept to within this for resends.
const resendQuiet = time.Minute

// maxSplits bounds how often a delivery halves a chunk that failed, to
// find the alert the store refuses among the others.
const maxSplits = 16

// HandleAlerts takes the alerts of one webhook delivery: Alertmanager and
// Grafana send a group's alerts together, thousands of them in a storm.
// Each is handled as HandleAlert says, in an order and in transactions
// that let a storm through in one delivery or, when the delivery is cut
// short (its deadline, a failure), let the sender's retry get further.
// The alerts are read a window at a time and the new ones of each window
// stored first, a rule's in chunks of a transaction each (the first leads
// the group, the others join it); then the resolutions of firing alerts,
// in chunks too; then the other changes (a firing again, a resolution
// before any firing) one by one; last the resends of a firing (the same
// StartsAt), which move LastAt in a few transactions, or write nothing
// within a minute of their last delivery. A chunk that fails is halved
// and tried again, so that an alert the store refuses does not keep the
// others out. It returns an error when any alert could not be handled, so
// that the sender delivers again; EINVALID for an alert without source or
// fingerprint.
//
// A delivery waits at most stallLimit for any one step to be answered by
// the database (a lookup, or the transaction of a chunk of up to chunkSize
// alerts, some 0.1 s on PostgreSQL): one that hangs is answered as quickly
// as any webhook, while a storm that gets answers has the delivery's
// whole deadline.
func (s *Service) HandleAlerts(ctx context.Context, evs []incident.AlertEvent) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stall := time.AfterFunc(stallLimit, func() { cancel(errStalled) })
	defer stall.Stop()
	d := &delivery{Service: s, now: s.clock.Now(), splits: maxSplits, leaders: map[int64]*incident.Alert{},
		progress: func() { stall.Reset(stallLimit) }}
	if err := d.handle(ctx, evs); err != nil {
		if context.Cause(ctx) == errStalled {
			return fmt.Errorf("%w: %w", errStalled, err)
		}
		return err
	}
	return nil
}

// stallLimit is the longest a delivery waits for one step to be answered
// by the database (HandleAlerts): a webhook's usual deadline.
const stallLimit = 3 * time.Second

// errStalled ends a delivery whose database did not answer within
// stallLimit.
var errStalled = errors.New("the database did not answer within 3 seconds")

// delivery handles the alerts of one delivery (HandleAlerts).
type delivery struct {
	*Service
	// now is when the delivery came.
	now time.Time
	// splits is how many more failed chunks may be halved.
	splits int
	// leaders keeps the groups' leaders read, by id.
	leaders map[int64]*incident.Alert
	// progress says the database answered (HandleAlerts' stall limit).
	progress func()
}

// knownAlert is a delivery ev of the stored alert a.
type knownAlert struct {
	a  *incident.Alert
	ev incident.AlertEvent
}

// sorted returns ks in the order of their alerts' ids: two deliveries
// writing the same alerts (an HA pair) lock them in the same order.
func sorted(ks []knownAlert) []knownAlert {
	slices.SortFunc(ks, func(x, y knownAlert) int { return cmp.Compare(x.a.ID, y.a.ID) })
	return ks
}

func (s *delivery) handle(ctx context.Context, evs []incident.AlertEvent) error {
	var (
		fails    = failures{progress: s.progress}
		early    []incident.AlertEvent
		resolved []knownAlert
		changed  []knownAlert
		repeated []knownAlert
		touch    []knownAlert
		again    []incident.AlertEvent
		// noted is the last alert resolved again of each group whose
		// proposal nobody decided, noteAgain those groups in order.
		noted     = map[int64]*incident.Alert{}
		noteAgain []int64
		ignored   struct {
			unmatched, late int
			example         incident.AlertEvent
		}
	)
	seen := make(map[[2]string]bool, len(evs))
	for start := 0; start < len(evs); start += window {
		// A window's new alerts are stored before the next window is
		// read: a retry of a delivery cut short reads the alerts it
		// stored, quickly, and stores more.
		var rules []incident.AlertRule
		fresh := map[[2]string][]incident.AlertEvent{}
		for i, ev := range evs[start:min(start+window, len(evs))] {
			if err := ctx.Err(); err != nil {
				fails.add(fmt.Errorf("%d alerts not handled: %w", len(evs)-start-i, err))
				start = len(evs)
				break
			}
			if ev.Source == "" || ev.Fingerprint == "" {
				fails.add(incident.Errorf(incident.EINVALID, "An alert needs a source and a fingerprint."))
				continue
			}
			ev = normalized(ev)
			key := [2]string{ev.Source, ev.Fingerprint}
			if seen[key] {
				again = append(again, ev) // after the first, on its own
				continue
			}
			seen[key] = true
			a, err := s.store.FindAlert(ctx, ev.Source, ev.Fingerprint)
			if err == nil || incident.ErrorCode(err) == incident.ENOTFOUND {
				s.progress()
			}
			if err != nil && incident.ErrorCode(err) != incident.ENOTFOUND {
				fails.add(fmt.Errorf("alert %s: %w", ev.Fingerprint, err))
				continue
			}
			firing, resend := ev.Status == incident.AlertFiring, a != nil && isResend(a.StartsAt, ev.StartsAt)
			switch {
			case a == nil && !firing:
				early = append(early, ev)
			case a == nil:
				rule, ok := ruleFor(s.policy, ev)
				if !ok {
					ignored.unmatched++
					ignored.example = ev
					continue
				}
				k := [2]string{rule.Name, rule.Service}
				if fresh[k] == nil {
					rules = append(rules, rule)
				}
				fresh[k] = append(fresh[k], ev)
			case firing && a.Status == incident.AlertResolved && resend:
				// A late copy of a firing that has resolved since.
				ignored.late++
			case firing && a.Status == incident.AlertFiring && resend && s.undecidedLeader(a, ev):
				repeated = append(repeated, knownAlert{a, ev})
			case firing && a.Status == incident.AlertFiring && resend:
				if s.now.Sub(a.LastAt) >= resendQuiet {
					touch = append(touch, knownAlert{a, ev})
				}
			case !firing && a.Status == incident.AlertResolved && !neverFired(a):
				// A resolution again: the delivery that resolved it may
				// have stopped before its group's proposal was noted,
				// which one alert of the group notes.
				if a.IncidentID == 0 && a.State == incident.AlertProposed {
					g := cmp.Or(a.GroupID, a.ID)
					if _, ok := noted[g]; !ok {
						noteAgain = append(noteAgain, g)
					}
					noted[g] = a
				}
			case !firing && a.Status == incident.AlertResolved:
				repeated = append(repeated, knownAlert{a, ev})
			case !firing && !startedBefore(ev.StartsAt, a.StartsAt):
				resolved = append(resolved, knownAlert{a, ev})
			default:
				changed = append(changed, knownAlert{a, ev})
			}
		}
		for _, rule := range rules {
			fails.add(s.storeNew(ctx, rule, fresh[[2]string{rule.Name, rule.Service}]))
		}
	}
	if ignored.unmatched > 0 {
		s.log.InfoContext(ctx, "alerts match no rule", "alerts", ignored.unmatched, "source", ignored.example.Source,
			"fingerprint", ignored.example.Fingerprint, "title", ignored.example.Title)
	}
	if ignored.late > 0 {
		s.log.InfoContext(ctx, "late firings of resolved alerts ignored", "alerts", ignored.late)
	}
	fails.add(s.resolveAll(ctx, sorted(resolved)))
	for _, ev := range early {
		fails.addAlert(ctx, ev.Fingerprint, func() error { return s.resolvedFirst(ctx, ev) })
	}
	for _, k := range slices.Concat(changed, repeated) {
		fails.addAlert(ctx, k.ev.Fingerprint, func() error { return s.handleKnown(ctx, k.a, k.ev) })
	}
	for _, g := range noteAgain {
		a := noted[g]
		fails.addAlert(ctx, a.Fingerprint, func() error { return s.noteProposalResolved(ctx, a, s.now) })
	}
	fails.add(s.touch(ctx, sorted(touch)))
	for _, ev := range again {
		fails.addAlert(ctx, ev.Fingerprint, func() error { return s.handleOne(ctx, ev) })
	}
	return fails.err()
}

// normalized is ev as the alerts service keeps it: firing unless
// resolved, its link kept only when the chat can show it.
func normalized(ev incident.AlertEvent) incident.AlertEvent {
	if ev.Status != incident.AlertResolved {
		ev.Status = incident.AlertFiring
	}
	ev.URL = webLink(ev.URL)
	return ev
}

// newAlert is the alert ev, new, under rule, first delivered now.
func newAlert(ev incident.AlertEvent, rule incident.AlertRule, now time.Time) *incident.Alert {
	return &incident.Alert{Source: ev.Source, Fingerprint: ev.Fingerprint, Status: incident.AlertFiring, Title: alertTitle(ev),
		Summary: truncate(strings.TrimSpace(ev.Summary), 1000), URL: ev.URL, Labels: ev.Labels, Rule: rule.Name,
		Service: rule.Service, Severity: rule.Severity, State: incident.AlertProposed, Count: 1, StartsAt: ev.StartsAt,
		FirstAt: now, LastAt: now}
}

// handleOne handles one alert on its own: it looks it up, then stores it
// or changes it, in a transaction of its own.
func (s *delivery) handleOne(ctx context.Context, ev incident.AlertEvent) error {
	existing, err := s.store.FindAlert(ctx, ev.Source, ev.Fingerprint)
	if err != nil && incident.ErrorCode(err) != incident.ENOTFOUND {
		return fmt.Errorf("handle alert: %w", err)
	}
	if existing != nil {
		return s.handleKnown(ctx, existing, ev)
	}
	if ev.Status == incident.AlertResolved {
		return s.resolvedFirst(ctx, ev)
	}
	rule, ok := ruleFor(s.policy, ev)
	if !ok {
		s.log.InfoContext(ctx, "alert matches no rule", "source", ev.Source, "fingerprint", ev.Fingerprint, "title", ev.Title)
		return nil
	}
	a := newAlert(ev, rule, s.now)
	stored, err := s.inGroup(ctx, a, rule.Auto, s.now, func(tx groupTx, g *incident.Alert) (*incident.Alert, error) {
		a.GroupID, a.State, a.IncidentID, a.DecidedBy = g.GroupID, g.State, g.IncidentID, g.DecidedBy
		stored, err := tx.AddAlert(ctx, a)
		if incident.ErrorCode(err) == incident.ECONFLICT && stored != nil {
			return nil, &storedFirst{stored}
		}
		return stored, err
	})
	var first *storedFirst
	if errors.As(err, &first) {
		// A concurrent delivery stored it first: this one is a repeat.
		return s.handleKnown(ctx, first.alert, ev)
	} else if err != nil {
		return fmt.Errorf("store alert: %w", err)
	}
	if stored.GroupID == 0 && rule.Auto {
		_, err := s.DeclareFromAlert(ctx, stored.ID, "bot", incident.ReplyTarget{})
		return err
	}
	return nil
}

// handleKnown handles a delivery ev of the stored alert a.
func (s *delivery) handleKnown(ctx context.Context, a *incident.Alert, ev incident.AlertEvent) error {
	if ev.Status != incident.AlertResolved {
		return s.alertRepeated(ctx, a, ev, s.now)
	}
	if startedBefore(ev.StartsAt, a.StartsAt) {
		s.log.InfoContext(ctx, "resolution of an earlier firing of the alert ignored", "alert", a.ID,
			"starts_at", ev.StartsAt, "firing_since", a.StartsAt)
		return nil
	}
	return s.alertResolved(ctx, a, ev, s.now)
}

// resolvedFirst keeps the resolution of an alert never heard firing: a
// delivery out of order (an HA peer, a retry) brought it before its
// firing. Kept resolved, with the sender's StartsAt and a Count of 0, it
// proposes nothing and joins no group, and the late firing of the same
// episode (StartsAt no later) is known for what it is; a firing that
// started later is a new episode (alertRepeated). An alert no rule matches
// is not kept, as its firing would not be.
func (s *delivery) resolvedFirst(ctx context.Context, ev incident.AlertEvent) error {
	rule, ok := ruleFor(s.policy, ev)
	if !ok {
		return nil
	}
	now := s.now
	a := newAlert(ev, rule, now)
	a.Status, a.Count, a.ResolvedAt = incident.AlertResolved, 0, &now
	stored, err := s.store.AddAlert(ctx, a)
	if incident.ErrorCode(err) == incident.ECONFLICT && stored != nil {
		// A concurrent delivery stored it first.
		return s.handleKnown(ctx, stored, ev)
	} else if err != nil {
		return fmt.Errorf("keep the resolution of alert %s: %w", ev.Fingerprint, err)
	}
	s.log.InfoContext(ctx, "alert resolved before its firing was delivered; kept, proposing nothing", "alert", stored.ID,
		"rule", rule.Name, "starts_at", ev.StartsAt)
	return nil
}

// undecidedLeader reports whether a leads its group undecided and its
// delivery may have to start it still: the delivery that stored it may
// have failed to declare it (an auto rule) or to schedule its proposal.
func (s *delivery) undecidedLeader(a *incident.Alert, ev incident.AlertEvent) bool {
	if a.GroupID != 0 || a.State != incident.AlertProposed || a.IncidentID != 0 {
		return false
	}
	rule, ok := ruleFor(s.policy, ev)
	return ok && (rule.Auto || a.MessageTS == "")
}

// inChunks runs do on the items, chunkSize at a time, each chunk its own
// transaction. A chunk that fails is halved and each half tried again, so
// that an alert the store refuses fails alone and the others are kept, as
// long as the delivery's splits last.
func inChunks[T any](ctx context.Context, s *delivery, items []T, name func(T) string, do func([]T) error) error {
	fails := failures{progress: s.progress}
	for len(items) > 0 {
		part := items[:min(chunkSize, len(items))]
		items = items[len(part):]
		if err := ctx.Err(); err != nil {
			fails.add(fmt.Errorf("%d alerts not handled: %w", len(part)+len(items), err))
			break
		}
		fails.add(split(ctx, s, part, name, do))
	}
	return fails.err()
}

// split runs do on items, or, when that fails, on each half of them.
func split[T any](ctx context.Context, s *delivery, items []T, name func(T) string, do func([]T) error) error {
	err := do(items)
	if ctx.Err() == nil {
		s.progress() // answered, stored or refused
	}
	if err == nil || len(items) == 1 || s.splits <= 0 || ctx.Err() != nil {
		if err != nil && len(items) > 1 {
			return fmt.Errorf("%d alerts from %s: %w", len(items), name(items[0]), err)
		}
		return err
	}
	s.splits--
	half := len(items) / 2
	return errors.Join(split(ctx, s, items[:half], name, do), split(ctx, s, items[half:], name, do))
}

// storeNew stores the new firing alerts evs of rule, in chunks of a
// transaction each (storeChunk), then has them followed up (afterStore).
func (s *delivery) storeNew(ctx context.Context, rule incident.AlertRule, evs []incident.AlertEvent) error {
	var after failures
	err := inChunks(ctx, s, evs, func(ev incident.AlertEvent) string { return ev.Fingerprint }, func(part []incident.AlertEvent) error {
		leader, conflicts, err := s.storeChunk(ctx, rule, part)
		if err != nil {
			return err
		}
		after.add(s.afterStore(ctx, rule, leader, conflicts))
		return nil
	})
	return errors.Join(err, after.err())
}

// storeChunk stores the new firing alerts evs of rule in one transaction,
// under the claim of the rule's group (joinGroup): the first leads a new
// group when none is open, and is proposed unless the rule is auto (it is
// declared once stored, afterStore); the others join the group, said on
// its incident's timeline, or counted in its proposal, redrawn once. It
// returns the alert that leads a new group, if one does, and the alerts
// that a concurrent delivery stored first, with their deliveries.
func (s *delivery) storeChunk(ctx context.Context, rule incident.AlertRule, evs []incident.AlertEvent) (*incident.Alert, []knownAlert, error) {
	var (
		leader    *incident.Alert
		conflicts []knownAlert
	)
	err := s.store.Atomic(ctx, func(itx incident.Tx) error {
		leader, conflicts = nil, nil
		tx, ok := itx.(groupTx)
		if !ok {
			return fmt.Errorf("the store's transaction (%T) keeps no alerts", itx)
		}
		g := &incident.Alert{Rule: rule.Name, Service: rule.Service, State: incident.AlertProposed}
		inc, err := s.joinGroup(ctx, tx, g, s.now)
		if err != nil {
			return err
		}
		var joined *incident.Alert // the last to join a proposal already there
		var lines []incident.TimelineEvent
		for _, ev := range evs {
			a := newAlert(ev, rule, s.now)
			a.GroupID, a.State, a.IncidentID, a.DecidedBy = g.GroupID, g.State, g.IncidentID, g.DecidedBy
			stored, err := tx.AddAlert(ctx, a)
			if incident.ErrorCode(err) == incident.ECONFLICT && stored != nil {
				conflicts = append(conflicts, knownAlert{stored, ev})
				continue
			} else if err != nil {
				return fmt.Errorf("store alert %s: %w", ev.Fingerprint, err)
			}
			switch {
			case stored.GroupID == 0:
				leader = stored
				if !rule.Auto {
					if err := s.propose(ctx, tx, stored); err != nil {
						return err
					}
				}
				// The others join its proposal: its job posts it with
				// their count.
				g.GroupID, g.State, g.IncidentID, g.DecidedBy = stored.ID, incident.AlertProposed, 0, ""
				inc = nil
			case inc != nil:
				lines = append(lines, joinedLine(stored, inc, s.now))
			case leader == nil:
				joined = stored
			}
		}
		if err := addLines(ctx, tx, lines); err != nil {
			return err
		}
		if joined != nil {
			s.log.InfoContext(ctx, "alerts joined the proposal of their rule", "group", joined.GroupID, "rule", rule.Name, "last", joined.ID)
			return s.refreshProposal(ctx, tx, joined.GroupID, joined, s.now)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return leader, conflicts, nil
}

// afterStore declares the alert that leads a new group of an auto rule,
// once it is stored, and handles as repeats the alerts a concurrent
// delivery stored first.
func (s *delivery) afterStore(ctx context.Context, rule incident.AlertRule, leader *incident.Alert, conflicts []knownAlert) error {
	fails := failures{progress: s.progress}
	if leader != nil && rule.Auto {
		fails.addAlert(ctx, leader.Fingerprint, func() error {
			_, err := s.DeclareFromAlert(ctx, leader.ID, "bot", incident.ReplyTarget{})
			return err
		})
	}
	for _, c := range conflicts {
		fails.addAlert(ctx, c.ev.Fingerprint, func() error { return s.handleKnown(ctx, c.a, c.ev) })
	}
	return fails.err()
}

// addLines stores the lines of alerts that joined an incident, new alerts
// whose lines cannot be there yet: in one write when tx offers it.
func addLines(ctx context.Context, tx groupTx, lines []incident.TimelineEvent) error {
	if b, ok := tx.(incident.TimelineBatcher); ok && len(lines) > 1 {
		if err := b.AddTimelineEvents(ctx, lines); err != nil {
			return fmt.Errorf("alerts joined incident %d: %w", lines[0].IncidentID, err)
		}
		return nil
	}
	for i := range lines {
		if err := tx.AddTimelineEvent(ctx, &lines[i]); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
			return fmt.Errorf("alert joined incident %d: %w", lines[i].IncidentID, err)
		}
	}
	return nil
}

// resolveAll records the resolutions of firing alerts, in chunks of a
// transaction each (resolveChunk), and, once each chunk is committed,
// notes them on their groups' proposals (noteProposalResolved), once a
// group.
func (s *delivery) resolveAll(ctx context.Context, resolved []knownAlert) error {
	var after failures
	err := inChunks(ctx, s, resolved, func(k knownAlert) string { return k.ev.Fingerprint }, func(part []knownAlert) error {
		notes, err := s.resolveChunk(ctx, part)
		if err != nil {
			return err
		}
		for _, a := range notes {
			after.addAlert(ctx, a.Fingerprint, func() error { return s.noteProposalResolved(ctx, a, s.now) })
		}
		return nil
	})
	return errors.Join(err, after.err())
}

// resolveChunk resolves the firing alerts of part, as alertResolved does
// each, in one transaction: each alert follows its group's decision
// (followGroup), is resolved unless it resolved or fired again since, and,
// tied to an incident, is said resolved (sayResolved). It returns, for
// each group whose proposal nobody decided, the last of its alerts
// resolved, for its note.
func (s *delivery) resolveChunk(ctx context.Context, part []knownAlert) ([]*incident.Alert, error) {
	for _, k := range part {
		g := k.a.GroupID
		if g == 0 || k.a.State != incident.AlertProposed || k.a.IncidentID != 0 || s.leaders[g] != nil {
			continue
		}
		leader, err := s.store.GetAlert(ctx, g)
		if incident.ErrorCode(err) == incident.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("find the alert %d leads: %w", g, err)
		}
		s.leaders[g] = leader
	}
	var notes []*incident.Alert
	err := s.store.Atomic(ctx, func(itx incident.Tx) error {
		notes = nil
		tx, ok := itx.(groupTx)
		if !ok {
			return fmt.Errorf("the store's transaction (%T) keeps no alerts", itx)
		}
		last := map[int64]int{} // a group's leader -> the index in notes of its alert
		for _, k := range part {
			u, err := tx.UpdateAlert(ctx, k.a.ID, func(x *incident.Alert) error {
				if x.Status == incident.AlertResolved {
					return errAlreadyResolved
				}
				if startedBefore(k.ev.StartsAt, x.StartsAt) {
					return errLateResolution
				}
				if l := s.leaders[x.GroupID]; l != nil && x.State == incident.AlertProposed && x.IncidentID == 0 && l.State != incident.AlertProposed {
					x.State, x.IncidentID, x.DecidedBy = l.State, l.IncidentID, l.DecidedBy
				}
				x.Status = incident.AlertResolved
				t := s.now
				x.ResolvedAt = &t
				return nil
			})
			switch {
			case errors.Is(err, errAlreadyResolved) || errors.Is(err, errLateResolution) || incident.ErrorCode(err) == incident.ENOTFOUND:
				continue
			case err != nil:
				return fmt.Errorf("alert %s resolved: %w", k.ev.Fingerprint, err)
			case u.IncidentID != 0:
				if err := s.sayResolved(ctx, tx, u, s.now); err != nil {
					return fmt.Errorf("alert %s resolved: %w", k.ev.Fingerprint, err)
				}
			case u.State == incident.AlertProposed:
				g := cmp.Or(u.GroupID, u.ID)
				if i, ok := last[g]; ok {
					notes[i] = u
				} else {
					last[g] = len(notes)
					notes = append(notes, u)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return notes, nil
}

// errNotResent stops moving the LastAt of an alert whose stored firing is
// no longer the one resent.
var errNotResent = errors.New("the alert changed since it was read")

// touch records the resends of firing alerts: their LastAt moves to now,
// touchSize alerts a transaction. An alert that changed since it was read
// (resolved, or fired again) is left as it is.
func (s *delivery) touch(ctx context.Context, resends []knownAlert) error {
	fails := failures{progress: s.progress}
	for len(resends) > 0 {
		part := resends[:min(touchSize, len(resends))]
		resends = resends[len(part):]
		if err := ctx.Err(); err != nil {
			fails.add(fmt.Errorf("%d resends not recorded: %w", len(part)+len(resends), err))
			break
		}
		fails.add(s.store.Atomic(ctx, func(itx incident.Tx) error {
			tx, ok := itx.(groupTx)
			if !ok {
				return fmt.Errorf("the store's transaction (%T) keeps no alerts", itx)
			}
			for _, r := range part {
				_, err := tx.UpdateAlert(ctx, r.a.ID, func(x *incident.Alert) error {
					if x.Status != incident.AlertFiring || !isResend(x.StartsAt, r.ev.StartsAt) || !x.LastAt.Before(s.now) {
						return errNotResent
					}
					x.LastAt = s.now
					return nil
				})
				if err != nil && !errors.Is(err, errNotResent) && incident.ErrorCode(err) != incident.ENOTFOUND {
					return fmt.Errorf("alert %s resent: %w", r.ev.Fingerprint, err)
				}
			}
			return nil
		}))
	}
	return fails.err()
}

// failures collects what a delivery could not handle: how many, and the
// first few errors, so that a storm that fails does not make an error of
// thousands of lines.
type failures struct {
	n     int
	first []error
	// progress, when set, is told of each step that succeeded.
	progress func()
}

// maxReported bounds the errors failures keeps.
const maxReported = 3

func (f *failures) add(err error) {
	if f.progress != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		// The database answered, or refused: either way it is there.
		f.progress()
	}
	if err == nil {
		return
	}
	f.n++
	if len(f.first) < maxReported {
		f.first = append(f.first, err)
	}
}

// addAlert handles one alert with fn, unless ctx is done, which fails it.
func (f *failures) addAlert(ctx context.Context, fingerprint string, fn func() error) {
	if err := ctx.Err(); err != nil {
		f.add(fmt.Errorf("alert %s not handled: %w", fingerprint, err))
		return
	}
	if err := fn(); err != nil {
		f.add(fmt.Errorf("alert %s: %w", fingerprint, err))
		return
	}
	f.add(nil)
}

func (f *failures) err() error {
	switch {
	case f.n == 0:
		return nil
	case f.n <= len(f.first):
		return errors.Join(f.first...)
	}
	return fmt.Errorf("%d failures, the first %d: %w", f.n, len(f.first), errors.Join(f.first...))
}
