package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// warRoom opens a declared incident's war room: the channel, its topic and
// bookmarks, the responders invited, the control panel pinned and the
// announcement in the broadcast channel. It runs as the JobSetup job; each
// step is recorded on the timeline, so a retry resumes where an attempt
// stopped and a final failure says exactly what does not exist.
type warRoom struct {
	policy    Policy
	incidents IncidentStore
	timeline  TimelineStore
	rooms     ChannelSetup
	people    Directory
	panels    PanelPoster
	notices   NoticePoster
	clock     Clock
	log       *slog.Logger
}

type setupPayload struct {
	IncidentID int64       `json:"incident_id"`
	ReplyTo    ReplyTarget `json:"reply_to"`
	Page       *bool       `json:"page,omitempty"`
}

// plan schedules the setup of a new incident on the declare's transaction.
func (w *warRoom) plan(ctx context.Context, sched Scheduler, inc *Incident, in DeclareInput) error {
	payload, _ := json.Marshal(setupPayload{IncidentID: inc.ID, ReplyTo: in.ReplyTo, Page: in.Page})
	if _, err := sched.Schedule(ctx, Job{Kind: JobSetup, Key: fmt.Sprintf("setup:%d", inc.ID), Payload: payload, MaxAttempts: setupAttempts}); err != nil {
		return fmt.Errorf("schedule setup of %s: %w", inc.Key(), err)
	}
	return nil
}

// setup steps, recorded as timeline events so a retry skips what is done
// and a final failure can say exactly what did not happen.
const (
	stepChannel   = "channel"
	stepTopic     = "topic"
	stepBookmarks = "bookmarks"
	stepInvites   = "invites"
	stepPanel     = "panel"
	stepAnnounce  = "announce"
	// stepRefusalTold is not a step of the war room: it records that the
	// declarer was told, while the retries go on, that Slack refused a
	// step, so that the report is made once, on the first attempt that
	// can deliver it.
	stepRefusalTold = "refusal-told"
	// stepDelayTold records likewise that the declarer was told the war
	// room is late: its setup has failed for over setupPatience on
	// something that may pass (Slack failing or not answering), and the
	// retries go on.
	stepDelayTold = "delay-told"
	// stepOpenTold records that the declarer was told where the channel
	// is: once they are in it, whether or not the other steps are done.
	stepOpenTold = "open-told"
)

// setupPatience is how long after the declare a war room that its setup
// keeps failing to open is said to be late: past a blip, the declarer hears
// why there is no channel yet and that the bot keeps trying, rather than
// nothing until the last attempt an hour later.
const setupPatience = time.Minute

var stepLabels = map[string]string{
	stepChannel:   "create the incident channel",
	stepTopic:     "set the channel topic",
	stepBookmarks: "add the runbook and dashboard bookmarks",
	stepInvites:   "invite the responders",
	stepPanel:     "post and pin the control panel",
	stepAnnounce:  "announce the incident in the broadcast channel",
}

func stepSource(step string) string { return "setup:" + step }

// runSetup is the JobSetup handler.
func (w *warRoom) runSetup(ctx context.Context, payload []byte) error {
	var p setupPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode setup payload: %w: %w", err, ErrJobCancel)
	}
	err := w.setup(ctx, p)
	var notTold *declarerNotTold
	if errors.Is(err, errNoChannelName) {
		// No retry frees a name: the declarer hears it now, and a report
		// Slack did not take is made by the next attempt.
		if rerr := w.reportSetupFailure(ctx, p, err, setupFailed); rerr != nil {
			return rerr
		}
		return err
	}
	if err == nil || errors.Is(err, ErrJobCancel) || errors.As(err, &notTold) {
		return err
	}
	// A report that was not delivered fails the job with its cause, so
	// that Slack's Retry-After is waited for and the report made again.
	switch attempt, max := JobAttempt(ctx); {
	case max > 0 && attempt >= max:
		return errors.Join(err, w.reportSetupFailure(ctx, p, err, setupFailed))
	case max > 1 && refusal(err) != nil:
		// Slack refused for a reason a retry does not change by itself
		// (the bot is not in the broadcast channel, a missing scope, an
		// archived channel): the declarer hears it now, not after the
		// last attempt, while the retries wait for someone to fix it.
		// Once: a report that Slack did not take (rate limited) is made
		// by the next attempt, whatever its number.
		return errors.Join(err, w.reportRefusalOnce(ctx, p, err))
	case max > 1:
		return errors.Join(err, w.reportDelayOnce(ctx, p, err))
	}
	return err
}

// reportRefusalOnce tells the declarer of Slack's refusal unless an earlier
// attempt did, and records that it was told.
func (w *warRoom) reportRefusalOnce(ctx context.Context, p setupPayload, cause error) error {
	done, err := w.doneSteps(ctx, p.IncidentID)
	if err != nil || done[stepRefusalTold] {
		return err
	}
	if err := w.reportSetupFailure(ctx, p, cause, setupRefused); err != nil {
		return err
	}
	return w.markSteps(ctx, []TimelineEvent{{IncidentID: p.IncidentID, Kind: EventSetup, Actor: "bot", At: w.clock.Now(),
		Text: "The declarer was told that Slack refused part of the setup: " + ErrorMessage(refusal(cause)), SourceID: stepSource(stepRefusalTold)}})
}

// reportDelayOnce tells the declarer, once the setup has failed for over
// setupPatience since the declare, that the war room is late and why, and
// records that they were told; unless an earlier attempt told them so, or
// of a refusal. A report Slack did not take is made by a later attempt.
func (w *warRoom) reportDelayOnce(ctx context.Context, p setupPayload, cause error) error {
	done, err := w.doneSteps(ctx, p.IncidentID)
	if err != nil || done[stepDelayTold] || done[stepRefusalTold] {
		return err
	}
	inc, err := w.incidents.GetIncident(ctx, p.IncidentID)
	if err != nil || w.clock.Now().Sub(inc.DeclaredAt) < setupPatience {
		// The store failing is the cause already joined to the job's.
		return nil
	}
	if err := w.reportSetupFailure(ctx, p, cause, setupDelayed); err != nil {
		return err
	}
	return w.markSteps(ctx, []TimelineEvent{{IncidentID: p.IncidentID, Kind: EventSetup, Actor: "bot", At: w.clock.Now(),
		Text: "The declarer was told that the setup is late and still being tried: " + ErrorMessage(cause), SourceID: stepSource(stepDelayTold)}})
}

// setupReport is which report of the setup's failure to make.
type setupReport int

const (
	// setupFailed is the report after the last attempt.
	setupFailed setupReport = iota
	// setupRefused is the report, while the retries go on, of a step
	// Slack refused for a reason that stays until someone acts.
	setupRefused
	// setupDelayed is the report, while the retries go on, of a setup
	// that has failed past setupPatience on something that may pass.
	setupDelayed
)

// invitees is who joins the channel, resolved to user ids: leads, the
// declarer and the IC, need no lookup and are invited first.
type invitees struct {
	leads, ids, missing []string
	err                 error
}

func (w *warRoom) setup(ctx context.Context, p setupPayload) error {
	inc, err := w.incidents.GetIncident(ctx, p.IncidentID)
	if ErrorCode(err) == ENOTFOUND {
		return fmt.Errorf("setup: %w: %w", err, ErrJobCancel)
	} else if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	done, err := w.doneSteps(ctx, inc.ID)
	if err != nil {
		return err
	}
	// Who to invite does not depend on the channel: resolve it while the
	// channel is being created, off the critical path.
	people := w.resolveInvitees(ctx, inc, done)
	if inc.ChannelID == "" {
		if inc, err = w.createChannel(ctx, inc, done[stepChannel]); err != nil {
			return err
		}
	} else if inc, err = w.channelOpened(ctx, inc, "", "", done[stepChannel]); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	stepsErr := w.runSteps(ctx, inc, done, people)
	if stepsErr != nil {
		stepsErr = fmt.Errorf("setup of %s: %w", inc.Key(), stepsErr)
	}
	if p.ReplyTo == (ReplyTarget{}) || done[stepOpenTold] {
		return stepsErr
	}
	if stepsErr != nil {
		// The declarer goes to the channel as soon as they are in it,
		// while the rest is retried.
		if now, err := w.doneSteps(ctx, inc.ID); err != nil || (!now[stepInvites] && pendingInvites(now) == nil) {
			return stepsErr
		}
	}
	open := Notice{Kind: NoticeIncidentOpen, Incident: inc.Key(), Actor: "bot", Drill: inc.Drill, Values: map[string]string{"channel": inc.ChannelID}}
	err = w.notices.Tell(ctx, p.ReplyTo, open)
	if err == nil && stepsErr != nil {
		// Recorded only for the retries; a setup done ends here.
		err = w.markSteps(ctx, []TimelineEvent{{IncidentID: inc.ID, Kind: EventSetup, Actor: "bot", At: w.clock.Now(),
			Text: "The declarer was told where the channel is", SourceID: stepSource(stepOpenTold)}})
	}
	switch {
	case err == nil:
		return stepsErr
	case stepsErr != nil:
		return errors.Join(stepsErr, fmt.Errorf("tell the declarer where %s is: %w", inc.Key(), err))
	}
	// The war room is up; the retry finds every step done and only tells
	// the declarer.
	return &declarerNotTold{fmt.Errorf("tell the declarer where %s is: %w", inc.Key(), err)}
}

// declarerNotTold fails a setup that is complete but whose declarer was not
// told of it: the job is retried, and the failure is no setup failure to
// report.
type declarerNotTold struct{ err error }

func (e *declarerNotTold) Error() string { return e.err.Error() }
func (e *declarerNotTold) Unwrap() error { return e.err }

// resolveInvitees resolves who joins the channel in the background: no one
// when an earlier attempt invited them all, only the references whose
// lookup failed when an earlier attempt invited the others.
func (w *warRoom) resolveInvitees(ctx context.Context, inc *Incident, done map[string]bool) <-chan invitees {
	out := make(chan invitees, 1)
	if done[stepInvites] {
		out <- invitees{}
		return out
	}
	refs, leads := pendingInvites(done), []string(nil)
	if refs == nil {
		refs, leads = w.inviteRefs(inc), w.leads(inc)
	}
	go func() {
		ids, missing, err := w.people.ResolveUsers(ctx, refs)
		out <- invitees{leads, ids, missing, err}
	}()
	return out
}

// leads are the declarer and the IC, by user id.
func (w *warRoom) leads(inc *Incident) []string {
	var ids []string
	for _, id := range []string{inc.DeclaredBy, inc.Commander} {
		if id != "" && id != "bot" {
			ids = append(ids, id)
		}
	}
	return Dedupe(ids)
}

// stepInvitesPending prefixes the step recorded when everyone resolved was
// invited but some lookups failed; the references left follow it.
const stepInvitesPending = "invites-pending:"

// maxPendingRefs bounds the references a pending step records; past it, a
// retry resolves and invites everyone again (those in the channel already
// are no error).
const maxPendingRefs = 1000

// pendingInvites returns the references left to invite by the last attempt
// that invited the others, or nil. Each attempt resolves only what the one
// before left, so the shortest list is the latest.
func pendingInvites(done map[string]bool) []string {
	var refs []string
	for step := range done {
		if rest, ok := strings.CutPrefix(step, stepInvitesPending); ok {
			if r := strings.Split(rest, "\n"); refs == nil || len(r) < len(refs) {
				refs = r
			}
		}
	}
	return refs
}

// channelOpened stores the channel (when id is set), records the channel
// step (unless recorded says an earlier attempt did) and moves a declared
// incident to investigating, so that everything rendered from here on says
// so: one write, which does nothing when nothing is left to do.
func (w *warRoom) channelOpened(ctx context.Context, inc *Incident, id, name string, recorded bool) (*Incident, error) {
	if id == "" && recorded && inc.Status != StatusDeclared {
		return inc, nil
	}
	update := func(recorded bool) (*Incident, error) {
		return w.incidents.UpdateIncident(ctx, inc.ID, func(i *Incident) ([]TimelineEvent, error) {
			if id != "" {
				i.ChannelID, i.ChannelName = id, name
			}
			now := w.clock.Now()
			var events []TimelineEvent
			if !recorded {
				events = append(events, TimelineEvent{Kind: EventSetup, Actor: "bot", At: now,
					Text: fmt.Sprintf("Channel #%s created", i.ChannelName), SourceID: stepSource(stepChannel)})
			}
			if i.Status == StatusDeclared {
				i.Status = StatusInvestigating
				events = append(events, TimelineEvent{Kind: EventStatusChanged, Actor: "bot", At: now, Text: "Investigating",
					Payload: StatusChangedData{From: StatusDeclared, To: StatusInvestigating}})
			}
			return events, nil
		})
	}
	updated, err := update(recorded)
	if ErrorCode(err) == ECONFLICT && !recorded {
		// The step was recorded after this attempt read its progress.
		updated, err = update(true)
	}
	if err != nil {
		if id != "" {
			return inc, fmt.Errorf("store channel of %s: %w", inc.Key(), err)
		}
		return inc, err
	}
	return updated, nil
}

// setupStep is one step that needs only the channel.
type setupStep struct {
	step, text string
	run        func() error
}

// runSteps runs the steps that need only the channel, concurrently,
// skipping those an earlier attempt did, and joins their errors.
func (w *warRoom) runSteps(ctx context.Context, inc *Incident, done map[string]bool, people <-chan invitees) error {
	steps := []setupStep{
		{stepTopic, "Channel topic set", func() error { return w.rooms.SetTopic(ctx, inc.ChannelID, TopicNotice(inc)) }},
		{stepBookmarks, "Bookmarks added", func() error { return w.addBookmarks(ctx, inc) }},
		{stepInvites, "Responders invited", func() error { return w.invite(ctx, inc, <-people) }},
		{stepPanel, "Control panel pinned", func() error { return w.pinPanel(ctx, inc) }},
	}
	if broadcast := w.broadcastChannel(inc); broadcast != "" {
		steps = append(steps, setupStep{stepAnnounce, "Incident announced", func() error { return w.announce(ctx, inc, broadcast) }})
	}
	var (
		mu    sync.Mutex
		errs  []error
		marks = make([]TimelineEvent, len(steps))
		wg    sync.WaitGroup
	)
	for i, st := range steps {
		if done[st.step] {
			continue
		}
		wg.Go(func() {
			if err := st.run(); err != nil {
				mu.Lock()
				defer mu.Unlock()
				errs = append(errs, fmt.Errorf("%s: %w", stepLabels[st.step], err))
				return
			}
			marks[i] = TimelineEvent{IncidentID: inc.ID, Kind: EventSetup, Actor: "bot", At: w.clock.Now(),
				Text: st.text, SourceID: stepSource(st.step)}
		})
	}
	wg.Wait()
	marks = slices.DeleteFunc(marks, func(ev TimelineEvent) bool { return ev.Kind == "" })
	if err := w.markSteps(ctx, marks); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (w *warRoom) addBookmarks(ctx context.Context, inc *Incident) error {
	marks := w.bookmarks(inc)
	errs := make([]error, len(marks))
	var wg sync.WaitGroup
	for i, bm := range marks {
		wg.Go(func() { errs[i] = w.rooms.AddBookmark(ctx, inc.ChannelID, bm[0], bm[1]) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// invite invites the responders, and says in the channel who is not in it
// (NoticeNotInvited): those the chat refused to invite and the references
// that matched nobody, so that the IC does not take on-call for present.
// The notice is part of the step, which is recorded once it is said: a
// retried setup does not say it again, and the chat posts a job's notice
// once however often the job is retried.
//
// A failed lookup (Slack rate limiting, a missing permission, a plan
// without user groups) keeps out only the people of that reference: the
// others are invited, the declarer and the IC first, and the step then
// fails with the lookups that failed, so that the declarer hears which and
// why, and the retry resolves and invites only those.
func (w *warRoom) invite(ctx context.Context, inc *Incident, r invitees) error {
	var unresolved *UnresolvedError
	if r.err != nil && !errors.As(r.err, &unresolved) && len(r.leads) == 0 {
		return r.err
	}
	refused, err := InviteRefusals(w.rooms.Invite(ctx, inc.ChannelID, Dedupe(append(r.leads, r.ids...))))
	if err != nil {
		return err
	}
	if err := w.sayNotInvited(ctx, inc, refused, r.missing); err != nil {
		return err
	}
	if r.err == nil {
		return nil
	}
	if unresolved != nil {
		w.log.WarnContext(ctx, "responder lookups failed; the others are invited", "incident", inc.Key(), "err", r.err)
		if err := w.markPending(ctx, inc, unresolved); err != nil {
			return errors.Join(lookupsFailed(r.err), err)
		}
	}
	return lookupsFailed(r.err)
}

// markPending records that everyone but the people of the references whose
// lookup failed is invited, so that a retry resolves only those.
func (w *warRoom) markPending(ctx context.Context, inc *Incident, u *UnresolvedError) error {
	refs := make([]string, len(u.Failed))
	for i, f := range u.Failed {
		refs[i] = f.Ref
	}
	slices.Sort(refs)
	key := stepInvitesPending + strings.Join(refs, "\n")
	if len(key) > maxPendingRefs {
		return nil
	}
	return w.markSteps(ctx, []TimelineEvent{{IncidentID: inc.ID, Kind: EventSetup, Actor: "bot", At: w.clock.Now(),
		Text: "Responders invited, but for " + strings.Join(refs, ", ") + ", whose lookup failed: " + ErrorMessage(u), SourceID: stepSource(key)}})
}

// lookupsFailed is the invite step's error when lookups failed: what each
// failure says, then that the others are in the channel. Its code is the
// first refusal's, so that the declarer hears of it at once, or
// EUNAVAILABLE.
func lookupsFailed(err error) error {
	var u *UnresolvedError
	if !errors.As(err, &u) {
		return errors.Join(Errorf(ErrorCode(err), "%s The declarer and the IC are invited; the other responders will be once they can be looked up.",
			ErrorMessage(err)), err)
	}
	code := EUNAVAILABLE
	if r := refusal(err); r != nil {
		code = r.Code
	}
	msgs := make([]string, len(u.Failed))
	for i, f := range u.Failed {
		msgs[i] = ErrorMessage(f.Err)
	}
	return errors.Join(Errorf(code, "%s Every other responder is invited.", strings.Join(msgs, " ")), err)
}

// sayNotInvited says in the channel who is not in it: those the chat
// refused to invite and the references that matched nobody.
func (w *warRoom) sayNotInvited(ctx context.Context, inc *Incident, refused []InviteRefusal, missing []string) error {
	if len(refused) == 0 && len(missing) == 0 {
		return nil
	}
	w.log.WarnContext(ctx, "responders not invited", "incident", inc.Key(), "refused", refused, "missing", missing)
	n := Notice{Kind: NoticeNotInvited, Incident: inc.Key(), Actor: "bot", Drill: inc.Drill}
	slices.SortFunc(refused, func(a, b InviteRefusal) int { return strings.Compare(a.User, b.User) })
	for _, r := range refused {
		n.Items = append(n.Items, Notice{Kind: NoticeNotInvited, Incident: inc.Key(), User: r.User, Values: map[string]string{"code": r.Code}})
	}
	if len(missing) > 0 {
		n.Values = map[string]string{"missing": strings.Join(missing, "\n")}
	}
	if _, err := w.notices.Notify(ctx, inc.ChannelID, n); err != nil {
		return fmt.Errorf("say who was not invited: %w", err)
	}
	return nil
}

// LookupFailure is a reference to people (a user group, an e-mail
// address) whose lookup failed, and why.
type LookupFailure struct {
	Ref string
	Err error
}

// UnresolvedError is Directory.ResolveUsers's error when the lookup of some
// references failed (the chat rate limiting or failing, a missing
// permission, a plan without user groups): every other reference was
// resolved, and the user ids and missing references returned with it are
// theirs.
type UnresolvedError struct {
	Failed []LookupFailure
}

// Error implements the error interface.
func (e *UnresolvedError) Error() string {
	msgs := make([]string, len(e.Failed))
	for i, f := range e.Failed {
		msgs[i] = "look up " + f.Ref + ": " + f.Err.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap returns the failures, so that errors.As finds their kinds and a
// rate limit's wait.
func (e *UnresolvedError) Unwrap() []error {
	errs := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		errs[i] = f.Err
	}
	return errs
}

// InviteRefusal is one user the chat refused to add to a channel.
type InviteRefusal struct {
	// User is the user's id.
	User string
	// Code is the platform's reason ("user_is_restricted").
	Code string
}

// InviteRefusedError is ChannelSetup.Invite's error when the chat refused
// to add some of the users (a guest, a deactivated account, a person of
// another workspace) for a reason that a retry does not change; every
// other user was invited. InviteRefusals separates it from a failure.
type InviteRefusedError struct {
	Refused []InviteRefusal
}

// Error implements the error interface.
func (e *InviteRefusedError) Error() string {
	who := make([]string, len(e.Refused))
	for i, r := range e.Refused {
		who[i] = r.User + ": " + r.Code
	}
	return "refused to invite " + strings.Join(who, "; ")
}

// InviteRefusals splits what ChannelSetup.Invite returned into the users
// the chat refused and the error of a failed invite (nil when everyone
// else was invited).
func InviteRefusals(err error) ([]InviteRefusal, error) {
	var refused *InviteRefusedError
	if errors.As(err, &refused) {
		return refused.Refused, nil
	}
	return nil, err
}

func (w *warRoom) pinPanel(ctx context.Context, inc *Incident) error {
	ts := inc.PanelTS
	if ts == "" {
		var err error
		if ts, err = w.panels.PostPanel(ctx, inc); err != nil {
			return err
		}
		if _, err := w.incidents.UpdateIncident(ctx, inc.ID, func(i *Incident) ([]TimelineEvent, error) {
			i.PanelTS = ts
			return nil, nil
		}); err != nil {
			return err
		}
	}
	return w.rooms.Pin(ctx, inc.ChannelID, ts)
}

func (w *warRoom) announce(ctx context.Context, inc *Incident, broadcast string) error {
	if inc.BroadcastTS != "" {
		return nil
	}
	ch, ts, err := w.panels.Announce(ctx, broadcast, inc)
	if err != nil {
		return err
	}
	_, err = w.incidents.UpdateIncident(ctx, inc.ID, func(i *Incident) ([]TimelineEvent, error) {
		i.BroadcastChannel, i.BroadcastTS = ch, ts
		return nil, nil
	})
	return err
}

// broadcastChannel is where inc is announced: the broadcast channel, or
// for a private incident only the private broadcast channel, if any.
func (w *warRoom) broadcastChannel(inc *Incident) string {
	if inc.Private {
		return w.policy.PrivateBroadcastChannel
	}
	return w.policy.BroadcastChannel
}

// createChannel creates the incident's channel, trying "-2", "-3" ... for a
// taken name, and adopts a channel that an interrupted attempt created. It
// stores the channel as channelOpened does.
func (w *warRoom) createChannel(ctx context.Context, inc *Incident, recorded bool) (*Incident, error) {
	for attempt := 1; attempt <= maxChannelAttempts; attempt++ {
		prefix := w.policy.ChannelPrefix
		if inc.Drill {
			prefix += "-drill"
		}
		name := ChannelName(prefix, inc.DeclaredAt, w.policy.Location, inc.Title, inc.Number, attempt)
		id, err := w.rooms.CreateChannel(ctx, name, inc.Private)
		if ErrorCode(err) == ECONFLICT {
			// Taken: perhaps by us, in an attempt that died before it
			// stored the id. Adopt it if no incident owns it.
			id, ferr := w.rooms.FindChannel(ctx, name, inc.Private)
			if ferr != nil {
				if ErrorCode(ferr) == ENOTFOUND {
					continue
				}
				return inc, fmt.Errorf("find channel %s: %w", name, ferr)
			}
			owner, gerr := w.incidents.GetIncidentByChannel(ctx, id)
			if gerr == nil && owner.ID != inc.ID {
				continue
			} else if gerr != nil && ErrorCode(gerr) != ENOTFOUND {
				return inc, gerr
			}
			err = nil
			if id == "" {
				continue
			}
			return w.channelOpened(ctx, inc, id, name, recorded)
		}
		if err != nil {
			return inc, fmt.Errorf("create channel %s: %w", name, err)
		}
		return w.channelOpened(ctx, inc, id, name, recorded)
	}
	prefix := w.policy.ChannelPrefix
	if inc.Drill {
		prefix += "-drill"
	}
	first := ChannelName(prefix, inc.DeclaredAt, w.policy.Location, inc.Title, inc.Number, 1)
	return inc, fmt.Errorf("no free channel name for %s after %d attempts: %w: %w", inc.Key(), maxChannelAttempts,
		Errorf(ECONFLICT, "Every channel name it may take, #%s and #%s-2 to -%d, is taken by another channel. "+
			"Archive or rename those look-alike channels, then declare again with another title.", first, first, maxChannelAttempts),
		errNoChannelName)
}

// errNoChannelName ends a setup whose every channel name is taken: no
// retry frees one.
var errNoChannelName = fmt.Errorf("no free channel name: %w", ErrJobCancel)

// doneSteps reads which setup steps earlier attempts completed.
func (w *warRoom) doneSteps(ctx context.Context, incidentID int64) (map[string]bool, error) {
	events, err := w.timeline.ListTimeline(ctx, incidentID)
	if err != nil {
		return nil, fmt.Errorf("read setup progress: %w", err)
	}
	done := map[string]bool{}
	for _, ev := range events {
		if step, ok := strings.CutPrefix(ev.SourceID, "setup:"); ok {
			done[step] = true
		}
	}
	return done, nil
}

// markSteps records the steps that ran, each as the event a retry skips it
// by, in one write when the store offers it. An event that is already
// stored (an attempt running at the same time recorded the step) fails the
// batch: the events then go one by one, skipping those.
func (w *warRoom) markSteps(ctx context.Context, marks []TimelineEvent) error {
	if b, ok := w.timeline.(TimelineBatcher); ok && len(marks) > 1 {
		err := b.AddTimelineEvents(ctx, slices.Clone(marks))
		if ErrorCode(err) != ECONFLICT {
			if err != nil {
				return fmt.Errorf("record the setup steps: %w", err)
			}
			return nil
		}
	}
	for i := range marks {
		err := w.timeline.AddTimelineEvent(ctx, &marks[i])
		if err != nil && ErrorCode(err) != ECONFLICT {
			return fmt.Errorf("record step %s: %w", strings.TrimPrefix(marks[i].SourceID, "setup:"), err)
		}
	}
	return nil
}

// reportSetupFailure tells the declarer exactly which parts of the war
// room do not exist: after the last attempt; or, while the retries go on,
// after an attempt the chat refused (with the refusal as the cause), or
// once the setup is late (setupDelayed).
func (w *warRoom) reportSetupFailure(ctx context.Context, p setupPayload, cause error, report setupReport) error {
	done, err := w.doneSteps(ctx, p.IncidentID)
	if err != nil {
		done = map[string]bool{}
	}
	inc, err := w.incidents.GetIncident(ctx, p.IncidentID)
	if err != nil {
		return nil
	}
	var missing []string
	for _, step := range []string{stepChannel, stepTopic, stepBookmarks, stepInvites, stepPanel, stepAnnounce} {
		if step == stepAnnounce && w.broadcastChannel(inc) == "" {
			continue
		}
		if !done[step] {
			missing = append(missing, stepLabels[step])
		}
	}
	var text string
	switch report {
	case setupRefused:
		text = fmt.Sprintf("%s was declared and is recorded, but I could not %s. Cause: %s"+
			" I will keep trying for about an hour: once this is fixed, the rest is done.",
			inc.Key(), strings.Join(missing, ", "), ErrorMessage(refusal(cause)))
		w.log.WarnContext(ctx, "setup refused; retrying", "incident", inc.Key(), "missing", missing, "err", cause)
	case setupDelayed:
		text = fmt.Sprintf("%s was declared and is recorded, but I could not %s yet. Cause: %s I keep trying for about an hour.",
			inc.Key(), strings.Join(missing, ", "), ErrorMessage(cause))
		if p.ReplyTo != (ReplyTarget{}) && !done[stepOpenTold] {
			text += " I will tell you when the war room is ready."
		}
		w.log.WarnContext(ctx, "setup late; retrying", "incident", inc.Key(), "missing", missing, "err", cause)
	default:
		text = fmt.Sprintf("%s was declared and is recorded, but I could not %s. Cause: %s",
			inc.Key(), strings.Join(missing, ", "), ErrorMessage(cause))
		w.log.ErrorContext(ctx, "setup failed for good", "incident", inc.Key(), "missing", missing, "err", cause)
	}
	target := p.ReplyTo
	if inc.ChannelID != "" && target.ResponseURL == "" && target.ChannelID == "" {
		target.ChannelID = inc.ChannelID
	}
	if report == setupDelayed && target == (ReplyTarget{}) {
		// Declared by the bot (an alert), with no channel yet: nobody
		// waits to be told.
		return nil
	}
	if err := w.notices.Tell(ctx, target, drillText(inc, text)); err != nil {
		return fmt.Errorf("tell the declarer about the setup of %s: %w", inc.Key(), err)
	}
	return nil
}

// inviteRefs lists who joins the channel: the declarer, the IC, the other
// role holders, the service's responders and the severity's invitees.
func (w *warRoom) inviteRefs(inc *Incident) []string {
	refs := []string{inc.Commander}
	if inc.DeclaredBy != "bot" {
		refs = append(refs, inc.DeclaredBy)
	}
	for _, u := range inc.Roles {
		refs = append(refs, u)
	}
	if svc, ok := w.policy.Services[inc.Service]; ok {
		refs = append(refs, svc.Responders...)
	}
	refs = append(refs, w.policy.Severity(inc.Severity).Invite...)
	return Dedupe(refs)
}

func (w *warRoom) bookmarks(inc *Incident) [][2]string {
	var out [][2]string
	svc, ok := w.policy.Services[inc.Service]
	if ok && svc.Runbook != "" {
		out = append(out, [2]string{"Runbook: " + svc.Name, svc.Runbook})
	}
	dash := w.policy.DashboardURL
	if ok && svc.Dashboard != "" {
		dash = svc.Dashboard
	}
	if dash != "" {
		out = append(out, [2]string{"Dashboard", dash})
	}
	return out
}
