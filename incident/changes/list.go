package changes

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// changesPayload is the JobChanges input.
type changesPayload struct {
	IncidentID int64                `json:"incident_id"`
	Window     time.Duration        `json:"window"`
	Actor      string               `json:"actor,omitempty"`
	Reply      incident.ReplyTarget `json:"reply"`
	// Tag names this list: the job key and the timeline SourceID derive
	// from it, so a retried job never posts the list twice.
	Tag string `json:"tag"`
	// Auto marks the list posted at declare, which stays quiet when there
	// is nothing to say.
	Auto bool `json:"auto,omitempty"`
	// List is a list already gathered that waits for the channel.
	List *incident.ChangeList `json:"list,omitempty"`
}

func (p changesPayload) sourceID() string { return "changes:" + p.Tag }

// changeWindow returns the window "what changed?" uses: w, or the
// policy's default when w is zero. EINVALID outside 1 minute to 48 hours.
func (s *Service) changeWindow(w time.Duration) (time.Duration, error) {
	if w == 0 {
		w = s.policy.LookBack()
	}
	if w < incident.MinChangeWindow || w > incident.MaxChangeWindow {
		return 0, incident.Errorf(incident.EINVALID, "Look back between 1 minute and 48 hours, such as 90m or 2h.")
	}
	return w, nil
}

// WhatChanged lists the changes in the window before the incident started
// in its channel, from a job: the sources are asked off the request path.
// A zero window is the policy's. reply reaches the person who asked if the
// list cannot be posted. A double click posts once: a request less than
// doubleClick after the last list asked for of the same incident and
// window, on any replica, is that list's. EINVALID for a window outside 1
// minute to 48 hours, ENOTFOUND for an unknown incident.
func (s *Service) WhatChanged(ctx context.Context, id int64, window time.Duration, actor string, reply incident.ReplyTarget) error {
	window, err := s.changeWindow(window)
	if err != nil {
		return err
	}
	inc, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return err
	}
	minutes := int(window.Minutes())
	// The tag names this list alone: lists of one window are at least
	// doubleClick apart.
	tag := fmt.Sprintf("%dm:%d", minutes, s.clock.Now().UnixMilli())
	p := changesPayload{IncidentID: inc.ID, Window: window, Actor: actor, Reply: reply, Tag: tag}
	// The list is claimed for doubleClick from now with a lease in the
	// transaction that schedules its job: of clicks that race on two
	// replicas, one takes the lease and the others wait for its commit
	// and find it held. A failed schedule leaves no claim behind. A
	// lease whose time is up is deleted by the next release of any lease.
	return s.store.Atomic(ctx, func(tx incident.Tx) error {
		leases, ok := tx.(incident.LeaseStore)
		if !ok {
			return fmt.Errorf("the store's transaction (%T) hands out no leases", tx)
		}
		claimed, err := leases.AcquireLease(ctx, fmt.Sprintf("changes:%d:%dm", inc.ID, minutes), tag, doubleClick)
		if err != nil {
			return fmt.Errorf("claim the list of changes: %w", err)
		}
		if !claimed {
			return nil // a list asked for a moment ago is on its way
		}
		return s.scheduleChanges(ctx, tx, p)
	})
}

// planChanges schedules the list posted at declare. It runs beside the
// setup job, never before it: the sources are asked at once and the list
// waits for the channel, so the channel never waits for the sources.
func (s *Service) planChanges(ctx context.Context, sched incident.Scheduler, inc *incident.Incident) error {
	window, err := s.changeWindow(0)
	if err != nil {
		return err
	}
	return s.scheduleChanges(ctx, sched, changesPayload{IncidentID: inc.ID, Window: window, Actor: "bot", Tag: "declare", Auto: true})
}

func (s *Service) scheduleChanges(ctx context.Context, sched incident.Scheduler, p changesPayload) error {
	payload, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode changes job: %w", err)
	}
	key := fmt.Sprintf("changes:%d:%s", p.IncidentID, p.Tag)
	if p.List != nil {
		key += ":post"
	}
	if _, err := sched.Schedule(ctx, incident.Job{Kind: JobChanges, Key: key, Payload: payload, MaxAttempts: changesAttempts}); err != nil {
		return fmt.Errorf("schedule the list of changes: %w", err)
	}
	return nil
}

// runChanges is the JobChanges handler.
func (s *Service) runChanges(ctx context.Context, payload []byte) error {
	var p changesPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode changes payload: %w: %w", err, incident.ErrJobCancel)
	}
	err := s.changes(ctx, p)
	if err == nil || errors.Is(err, incident.ErrJobCancel) {
		return err
	}
	var wait interface{ RetryAfter() time.Duration }
	if attempt, max := incident.JobAttempt(ctx); max > 0 && attempt >= max && !errors.As(err, &wait) && p.Reply != (incident.ReplyTarget{}) {
		n := incident.Notice{Kind: incident.NoticeChangesFailed, Actor: "bot",
			Values: map[string]string{"error": incident.ErrorMessage(err)}}
		if rerr := s.chat.Tell(ctx, p.Reply, n); rerr != nil {
			s.log.WarnContext(ctx, "could not report the failed list of changes", "err", rerr)
		}
	}
	return err
}

func (s *Service) changes(ctx context.Context, p changesPayload) error {
	inc, err := s.store.GetIncident(ctx, p.IncidentID)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return fmt.Errorf("changes: %w: %w", err, incident.ErrJobCancel)
	} else if err != nil {
		return fmt.Errorf("changes: %w", err)
	}
	if posted, err := hasEvent(ctx, s.store, inc.ID, p.sourceID()); err != nil || posted {
		return err
	}
	list := p.List
	if list == nil {
		var done bool
		if inc, list, done, err = s.gatherForPost(ctx, inc, p); done || err != nil {
			return err
		}
	}
	if inc.ChannelID == "" {
		return incident.RetryLater(2*time.Second, "%s has no channel yet", inc.Key())
	}
	if _, err := s.chat.PostChanges(ctx, inc.ChannelID, inc, *list); err != nil {
		return fmt.Errorf("post the changes of %s: %w", inc.Key(), err)
	}
	ev := s.changesShown(inc, p, list)
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
		// The list is out; a retry would post it again.
		s.log.ErrorContext(ctx, "could not record the list of changes", "incident", inc.Key(), "err", err)
	}
	return nil
}

// gatherForPost gathers the list of changes to post to the incident's
// channel. done is true when nothing is left to do in this job: nothing is
// tracked, or the incident has no channel yet and the list waits for it in
// a job of its own.
func (s *Service) gatherForPost(ctx context.Context, inc *incident.Incident, p changesPayload) (_ *incident.Incident, _ *incident.ChangeList, done bool, _ error) {
	gathered := s.gatherChanges(ctx, inc, p.Window)
	list := &gathered
	if p.Auto && len(list.Items) == 0 && len(list.Failures) == 0 && len(s.sources) == 0 {
		return inc, list, true, nil // nothing is tracked, so "no changes" would mislead
	}
	if f, ok := s.unwatched(inc); ok {
		list.Failures = append(list.Failures, f)
	}
	if inc.ChannelID != "" {
		return inc, list, false, nil
	}
	// Keep what the sources said and wait for the channel in a
	// job of its own, rather than ask them again on every retry.
	inc, err := s.store.GetIncident(ctx, inc.ID)
	if err != nil {
		return inc, list, true, fmt.Errorf("changes: %w", err)
	}
	if inc.ChannelID == "" {
		p.List = list
		return inc, list, true, s.scheduleChanges(ctx, s.sched, p)
	}
	return inc, list, false, nil
}

// unwatched says why no provider was asked for the incident's changes,
// when none was: no provider is configured, the service is not in the
// policy, or the policy links it to no repository and no flag. An empty
// list would otherwise read as "nothing changed". An incident without a
// service asks no provider by design, and lists every service's stored
// changes.
func (s *Service) unwatched(inc *incident.Incident) (incident.SourceFailure, bool) {
	if inc.Service == "" {
		return incident.SourceFailure{}, false
	}
	if len(s.sources) == 0 {
		return incident.SourceFailure{Source: "Deploys and flag changes",
			Message: "No change provider (GitHub, LaunchDarkly or Unleash) is configured, so only changes sent to the change webhook are listed."}, true
	}
	svc, ok := s.policy.Services[inc.Service]
	if !ok {
		return incident.SourceFailure{Source: inc.Service + "'s deploys and flag changes",
			Message: fmt.Sprintf("Service %s is not in the policy file, so no provider was asked.", inc.Service)}, true
	}
	if len(svc.GitHub.Repos) == 0 && len(svc.Flags) == 0 {
		name := cmp.Or(svc.Name, svc.Key, inc.Service)
		return incident.SourceFailure{Source: name + "'s deploys and flag changes",
			Message: fmt.Sprintf("The policy file names no GitHub repository or feature flag for %s, so no provider was asked.", name)}, true
	}
	return incident.SourceFailure{}, false
}

// changesShown is the timeline event of a posted list of changes.
func (s *Service) changesShown(inc *incident.Incident, p changesPayload, list *incident.ChangeList) incident.TimelineEvent {
	highlighted := 0
	for _, it := range list.Items {
		if it.Highlight {
			highlighted++
		}
	}
	text := fmt.Sprintf("Listed %d change(s) in the %s before the start, %d in the last 30 minutes", len(list.Items),
		incident.Since(list.From, list.To), highlighted)
	var failed []string
	for _, f := range list.Failures {
		failed = append(failed, f.Source)
	}
	if len(failed) > 0 {
		text += "; could not read " + strings.Join(failed, ", ")
	}
	if len(list.Cuts) > 0 || list.Omitted > 0 {
		text += "; older changes left out"
	}
	return incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventChangesShown, Actor: orBot(p.Actor), At: s.clock.Now(), Key: true,
		Text: text + ".", SourceID: p.sourceID(), Payload: incident.ChangesShownData{
			Changes: len(list.Items), Highlighted: highlighted, FailedSources: len(list.Failures), Window: p.Window.String()}}
}

// hasEvent reports whether the incident's timeline holds sourceID.
func hasEvent(ctx context.Context, store Store, incidentID int64, sourceID string) (bool, error) {
	events, err := store.ListTimeline(ctx, incidentID)
	if err != nil {
		return false, fmt.Errorf("read the timeline: %w", err)
	}
	for _, ev := range events {
		if ev.SourceID == sourceID {
			return true, nil
		}
	}
	return false, nil
}

// gatherChanges builds the list of changes in [start-window, start]: every
// source asked at once for the incident's service, merged with the stored
// changes (webhook deliveries and earlier answers), newest first.
//
// An incident without a service asks no source, since sources are
// configured per service, and lists the stored changes of every service:
// when nobody knows what broke, any change may be the cause.
func (s *Service) gatherChanges(ctx context.Context, inc *incident.Incident, window time.Duration) incident.ChangeList {
	to := inc.DeclaredAt
	from := to.Add(-window)
	list := incident.ChangeList{From: from, To: to, Start: to}
	// A provider's clock may stamp a change that came just before the
	// start a little after it: the likeliest cause must not be left out.
	until := to.Add(startSkew)

	g := gathered{seen: map[string]bool{}, persisted: map[string]bool{}}
	for i, a := range s.askSources(ctx, inc, from, until) {
		if a.err != nil {
			s.log.WarnContext(ctx, "change source failed", "incident", inc.Key(), "source", s.sources[i].Name(), "err", a.err)
			list.Failures = append(list.Failures, incident.SourceFailure{Source: s.sources[i].Name(), Message: incident.ErrorMessage(a.err)})
			continue
		}
		s.addAnswered(ctx, &g, inc, a.changes, from, until)
		for _, c := range a.cuts {
			c.Source = s.sources[i].Name()
			list.Cuts = append(list.Cuts, c)
		}
	}
	stored, err := s.storedChanges(ctx, inc, from, until)
	if err != nil {
		s.log.WarnContext(ctx, "could not read the stored changes", "incident", inc.Key(), "err", err)
		list.Failures = append(list.Failures, incident.SourceFailure{Source: "Change history", Message: incident.ErrorMessage(err)})
	}
	g.addStored(stored)
	sortChanges(g.all)
	if len(g.all) > maxListedChanges {
		list.Omitted = len(g.all) - maxListedChanges
		g.all = g.all[:maxListedChanges]
	}
	for _, c := range g.all {
		list.Items = append(list.Items, s.changeItem(c, to, g.persisted[changeKey(c)]))
	}
	return list
}

// sourceAnswer is one change source's answer.
type sourceAnswer struct {
	changes []incident.ChangeEvent
	// cuts are the kinds of change the source read only the newest of.
	cuts []incident.SourceCut
	err  error
}

// askSources asks every source at once for the incident service's changes
// in [from, to]; the answers are in the order of s.sources. An incident
// without a configured service asks none and gets empty answers.
func (s *Service) askSources(ctx context.Context, inc *incident.Incident, from, to time.Time) []sourceAnswer {
	answers := make([]sourceAnswer, len(s.sources))
	svc, hasService := s.policy.Services[inc.Service]
	if !hasService {
		return answers
	}
	var wg sync.WaitGroup
	for i, src := range s.sources {
		wg.Go(func() {
			sctx, cancel := context.WithTimeout(ctx, sourceTimeout)
			defer cancel()
			var a sourceAnswer
			if cutter, ok := src.(incident.CuttingChangeSource); ok {
				a.changes, a.cuts, a.err = cutter.ChangesCut(sctx, svc, from, to)
			} else {
				a.changes, a.err = src.Changes(sctx, svc, from, to)
			}
			if a.err != nil && sctx.Err() != nil && incident.ErrorCode(a.err) == incident.EINTERNAL {
				a.err = incident.Errorf(incident.EUNAVAILABLE, "It did not answer within %s.", sourceTimeout)
			}
			answers[i] = a
		})
	}
	wg.Wait()
	return answers
}

// gathered is the list of changes as it is merged: every change once, and
// which of them are stored.
type gathered struct {
	all       []incident.ChangeEvent
	seen      map[string]bool
	persisted map[string]bool
}

// addAnswered adds a source's changes in [from, to] not seen yet, and
// stores them.
func (s *Service) addAnswered(ctx context.Context, g *gathered, inc *incident.Incident, changes []incident.ChangeEvent, from, to time.Time) {
	for _, c := range changes {
		if c.Source == "" || c.ExternalID == "" || !incident.ChangeInWindow(c, from, to) || g.seen[changeKey(c)] {
			continue
		}
		if c.Service == "" {
			c.Service = inc.Service
		}
		g.seen[changeKey(c)] = true
		// Stored so the history outlives the provider's retention,
		// and so a rollback button can find the change again.
		stored := c
		switch err := s.store.AddChangeEvent(ctx, &stored); {
		case err == nil || incident.ErrorCode(err) == incident.ECONFLICT:
			g.persisted[changeKey(c)] = true
		default:
			s.log.WarnContext(ctx, "could not store a change", "source", c.Source, "external_id", c.ExternalID, "err", err)
		}
		g.all = append(g.all, c)
	}
}

// addStored merges the stored changes: new ones are added, and a stored
// state newer than a source's answer replaces it.
func (g *gathered) addStored(stored []incident.ChangeEvent) {
	for _, c := range stored {
		g.persisted[changeKey(c)] = true
		if !g.seen[changeKey(c)] {
			g.seen[changeKey(c)] = true
			g.all = append(g.all, c)
			continue
		}
		// A webhook may have stored a later state than the source's
		// answer, which can lag behind it.
		if i := slices.IndexFunc(g.all, func(a incident.ChangeEvent) bool { return changeKey(a) == changeKey(c) }); i >= 0 && c.Newer(g.all[i]) {
			g.all[i] = c
		}
	}
}

// storedChanges reads the stored changes of the incident's service in
// [from, to], with those under way at to that moved on since.
func (s *Service) storedChanges(ctx context.Context, inc *incident.Incident, from, to time.Time) ([]incident.ChangeEvent, error) {
	stored, err := s.store.ListChangeEvents(ctx, inc.Service, from, to)
	if err != nil {
		return stored, err
	}
	// Deploys and runs under way at the start are stored at the time
	// they moved on since.
	var later []incident.ChangeEvent
	if now := s.clock.Now(); now.After(to) {
		later, err = s.store.ListChangeEvents(ctx, inc.Service, to.Add(time.Nanosecond), now)
	}
	for _, c := range later {
		if incident.ChangeInWindow(c, from, to) {
			stored = append(stored, c)
		}
	}
	return stored, err
}

// sortChanges orders changes newest first.
func sortChanges(all []incident.ChangeEvent) {
	slices.SortStableFunc(all, func(a, b incident.ChangeEvent) int {
		if c := b.OccurredAt.Compare(a.OccurredAt); c != 0 {
			return c
		}
		return cmp.Compare(changeKey(a), changeKey(b))
	})
}

// changeItem is c as listed for an incident that started at start:
// highlighted if recent, with a rollback button if a stored change can be
// rolled back.
func (s *Service) changeItem(c incident.ChangeEvent, start time.Time, persisted bool) incident.ChangeItem {
	at := c.OccurredAt
	if started, ok := changeStarted(c); ok && at.After(start) {
		at = started // under way at the start: as close as it began
	}
	it := incident.ChangeItem{Change: c, Highlight: !at.After(start) && start.Sub(at) <= HighlightWindow}
	// A change that turned a flag off is already what "Turn off"
	// would do.
	if rb := rollbackerFor(s.rollbackers, c); rb != nil && persisted && !(c.Kind == incident.ChangeFlag && c.Data["on"] == "false") {
		if v := ChangeValue(c); len(v) <= maxButtonValue {
			it.Action, it.Value = "Roll back", v
			if c.Kind == incident.ChangeFlag {
				it.Action = "Turn off"
			}
		}
	}
	return it
}

func changeKey(c incident.ChangeEvent) string { return c.Source + "\x00" + c.ExternalID }

// changeStarted reads Data[incident.DataStartedAt].
func changeStarted(c incident.ChangeEvent) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, c.Data[incident.DataStartedAt])
	return t, err == nil
}

// ChangeValue is the rollback button's value for a change: its source, the
// second it happened (so it is found again without a scan) and its id.
func ChangeValue(c incident.ChangeEvent) string {
	return c.Source + "|" + strconv.FormatInt(c.OccurredAt.Unix(), 10) + "|" + c.ExternalID
}

// parseChangeValue reads ChangeValue. Sources never contain "|"; ids may.
func parseChangeValue(v string) (source string, at time.Time, externalID string, err error) {
	source, rest, ok1 := strings.Cut(v, "|")
	secs, externalID, ok2 := strings.Cut(rest, "|")
	n, perr := strconv.ParseInt(secs, 10, 64)
	if !ok1 || !ok2 || perr != nil || source == "" || externalID == "" {
		return "", time.Time{}, "", incident.Errorf(incident.EINVALID, "The button does not name a change.")
	}
	return source, time.Unix(n, 0).UTC(), externalID, nil
}

// findChange returns the stored change a button names.
func findChange(ctx context.Context, store Store, value string) (incident.ChangeEvent, error) {
	source, at, externalID, err := parseChangeValue(value)
	if err != nil {
		return incident.ChangeEvent{}, err
	}
	// A second either side: stores keep sub-second precision differently.
	cs, err := store.ListChangeEvents(ctx, "", at.Add(-time.Second), at.Add(2*time.Second))
	if err != nil {
		return incident.ChangeEvent{}, fmt.Errorf("find the change: %w", err)
	}
	for _, c := range cs {
		if c.Source == source && c.ExternalID == externalID {
			return c, nil
		}
	}
	// A deploy or run that moved on since the list was posted is stored at
	// its later time.
	if cs, err = store.ListChangeEvents(ctx, "", at, at.Add(incident.MaxChangeWindow)); err != nil {
		return incident.ChangeEvent{}, fmt.Errorf("find the change: %w", err)
	}
	for _, c := range cs {
		if c.Source == source && c.ExternalID == externalID {
			return c, nil
		}
	}
	return incident.ChangeEvent{}, incident.Errorf(incident.ENOTFOUND, "That change is no longer recorded; list the changes again with What changed?.")
}

// rollbackerFor returns the first rollbacker that can undo the change, or nil.
func rollbackerFor(rollbackers []incident.Rollbacker, c incident.ChangeEvent) incident.Rollbacker {
	for _, rb := range rollbackers {
		if rb.Handles(c) {
			return rb
		}
	}
	return nil
}
