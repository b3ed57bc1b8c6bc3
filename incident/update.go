package incident

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// StillInvestigating is the one-click update offered on every nag.
const StillInvestigating = "Still investigating, no new findings."

// UpdateInput is a status update from the IC (or anyone in the channel).
type UpdateInput struct {
	Author string
	// Status optionally moves the incident (investigating or mitigated).
	Status Status
	// StatusWas, when set with Status, is the status the author saw: if the
	// incident has moved from it since (declared and investigating count
	// as one), the update is refused with ErrStatusMoved instead of moving
	// the status back; compared in the update's own transaction.
	StatusWas Status
	// Known is what we know; Doing is what we are doing next.
	Known string
	Doing string
	// NextIn promises the next update; zero means the severity's cadence.
	NextIn time.Duration
	// Key, when set, makes the update once-only on its incident: a second
	// update with the same Key stores and posts nothing (ErrUpdateRepeated).
	Key string
}

// ErrUpdateRepeated is PostUpdate's answer to an update whose Key was
// already posted on the incident: nothing was stored or posted again, and
// the incident returned with it is as it stands.
var ErrUpdateRepeated = Errorf(ECONFLICT, "That update was already posted.")

// ErrStatusMoved is in the chain of PostUpdate's ECONFLICT for an update
// whose StatusWas is no longer the incident's status.
var ErrStatusMoved = errors.New("the status moved since the author saw it")

// MaxUpdateChars is the most characters (code points) what we know and
// what we are doing hold together, as stored.
const MaxUpdateChars = 2800

// Validate checks an update before anything is stored.
func (in UpdateInput) Validate() error {
	known, doing := strings.TrimSpace(in.Known), strings.TrimSpace(in.Doing)
	if err := CheckText("update", known+"\n"+doing, true); err != nil {
		return err
	}
	switch {
	case known == "" && doing == "":
		return Errorf(EINVALID, "Say what we know or what we are doing, such as `update rolled back the 14:02 deploy, error rate falling`.")
	case utf8.RuneCountInString(known)+utf8.RuneCountInString(doing) > MaxUpdateChars:
		return Errorf(EINVALID, "The update is too long; keep it within %d characters.", MaxUpdateChars)
	case in.Status != "" && in.Status != StatusInvestigating && in.Status != StatusMitigated:
		return Errorf(EINVALID, "An update can set the status to investigating or mitigated only.")
	case in.NextIn < 0 || in.NextIn > 24*time.Hour:
		return Errorf(EINVALID, "The next update must be due within 24 hours.")
	}
	return nil
}

// PostUpdate records a status update, posts it in the channel in the fixed
// format, mirrors it to the broadcast channel, and, when the IC, a role
// holder or the commander group posts it (ActResetReminders), resets the
// nag clock and its escalation; anyone else's update leaves both as they
// are (UpdateReset tells which). The change to the incident, the update and its timeline
// event, the message's job and the next reminder commit together. An
// update whose Key was posted before returns the incident and
// ErrUpdateRepeated.
func (s *Service) PostUpdate(ctx context.Context, id int64, in UpdateInput) (*Incident, error) {
	in.Known, in.Doing = strings.TrimSpace(in.Known), strings.TrimSpace(in.Doing)
	if err := in.Validate(); err != nil {
		return nil, err
	}
	cur, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	// A retry of an update that was posted (its answer lost) is answered
	// with it though it would now be refused: the incident may have been
	// resolved, or its IC changed, since. Only its author's retry, and
	// only while they may see the incident. An update that is not refused
	// finds its repeat in its own transaction (AddStatusUpdate), so the
	// timeline is read for this only on a refusal.
	refused := func(err error) (*Incident, error) {
		if in.Key == "" || errors.Is(err, ErrUpdateRepeated) || (ErrorCode(err) != EFORBIDDEN && ErrorCode(err) != ECONFLICT) {
			return nil, err
		}
		if again, perr := postedBefore(ctx, s.reminders.timeline, id, in); perr != nil || !again {
			return nil, err
		}
		if ok, cerr := s.authz.CanSee(ctx, in.Author, cur); !ok || cerr != nil {
			return nil, err
		}
		return cur, ErrUpdateRepeated
	}
	if err := s.authz.authorize(ctx, Request{Subject: Subject{User: in.Author}, Action: ActPostUpdate, Incident: cur}); err != nil {
		return refused(err)
	}
	// Posting an update is anyone's the policy lets post one; moving the
	// status with it is the IC's or the commander group's (ActSetStatus),
	// as /incident status is. Decided before the transaction (a group's
	// members may be read from Slack), and applied in it to the status the
	// incident has then: someone else's update that would move it is
	// refused, one that leaves it as it is posts.
	var moveStatus error
	if in.Status != "" {
		d, err := s.authz.Authorize(ctx, Request{Subject: Subject{User: in.Author}, Action: ActSetStatus, Incident: cur})
		if err != nil {
			return nil, err
		}
		if !d.Allowed {
			moveStatus = d.Err()
		}
	}
	// Only an update by the IC, a role holder or the commander group
	// starts the reminders over: anyone else's is posted, and the ladder
	// that calls the IC and then the backup climbs on, so a bystander's
	// "still investigating" cannot keep an incident from escalating.
	reset, err := s.authz.Authorize(ctx, Request{Subject: Subject{User: in.Author}, Action: ActResetReminders, Incident: cur})
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	update := func(i *Incident) ([]TimelineEvent, *syncPayload, error) {
		if !i.Status.Open() {
			return nil, nil, Errorf(ECONFLICT, "%s is %s; updates are for open incidents. Reopen it first.", i.Key(), strings.ToLower(i.Status.Label()))
		}
		var events []TimelineEvent
		if in.Status != "" && in.Status != i.Status && in.StatusWas != "" && i.Status.Settled() != in.StatusWas.Settled() {
			return nil, nil, errors.Join(ErrStatusMoved, Errorf(ECONFLICT, "The status changed to %s meanwhile, so %s was not set. Look again and retry.", i.Status.Label(), in.Status.Label()))
		}
		if in.Status != "" && in.Status != i.Status {
			if moveStatus != nil {
				return nil, nil, moveStatus
			}
			if err := CheckTransition(i.Status, in.Status); err != nil {
				return nil, nil, err
			}
			from := i.Status
			i.Status = in.Status
			if in.Status == StatusMitigated {
				t := now
				i.MitigatedAt = &t
			}
			set := Notice{Kind: NoticeStatusSet, Incident: i.Key(), Actor: in.Author, Values: map[string]string{"status": in.Status.Label()}}
			events = append(events, TimelineEvent{Kind: EventStatusChanged, Actor: in.Author, At: now, Key: true,
				Text:    s.noticeText(set),
				Payload: StatusChangedData{From: from, To: in.Status}})
		}
		// A promised time shorter or longer than the cadence moves the
		// next reminder with it.
		if reset.Allowed {
			promiseNext(i, s.policy, now, in.NextIn)
		}
		return events, &syncPayload{Notices: []Notice{UpdateNotice(i, s.policy, in, now)}}, nil
	}
	var inc *Incident
	var u StatusUpdate
	err = s.store.Atomic(ctx, func(tx Tx) error {
		var err error
		inc, err = s.changeIn(ctx, tx, id, update)
		if err != nil {
			return err
		}
		u = StatusUpdate{IncidentID: id, Author: in.Author, Status: inc.Status,
			Text: in.Body(), NextUpdateIn: in.NextIn, PostedAt: now, SourceID: in.SourceID(), Via: viaOf(ctx)}
		if err := tx.AddStatusUpdate(ctx, &u); err != nil {
			if in.Key != "" && ErrorCode(err) == ECONFLICT {
				return ErrUpdateRepeated
			}
			return fmt.Errorf("record update: %w", err)
		}
		if err := s.reminders.planNag(ctx, tx, inc); err != nil {
			return err
		}
		// The hooks' job (the status page offer, its components) commits
		// with the update.
		return s.hooks.plan(ctx, tx, Change{Kind: EventUpdatePosted, Incident: inc, Update: &u, Actor: in.Author})
	})
	if errors.Is(err, ErrUpdateRepeated) {
		cur, gerr := s.store.GetIncident(ctx, id)
		if gerr != nil {
			return nil, gerr
		}
		return cur, ErrUpdateRepeated
	}
	if err != nil {
		return refused(err)
	}
	return inc, nil
}

// postedBefore reports whether in's author posted an update with in's Key
// on the incident id: its timeline event carries the key (SourceID).
func postedBefore(ctx context.Context, st TimelineStore, id int64, in UpdateInput) (bool, error) {
	events, err := st.ListTimeline(ctx, id)
	if err != nil {
		return false, fmt.Errorf("read the timeline of the update's incident: %w", err)
	}
	for _, ev := range events {
		if ev.SourceID == in.SourceID() {
			return ev.Actor == in.Author, nil
		}
	}
	return false, nil
}

// UpdateReset reports whether an update started the reminders over, from
// the incident before it (before) and as PostUpdate returned it (after):
// an update that does moves the time of the last update.
func UpdateReset(before, after *Incident) bool {
	return before != nil && after != nil && !sameTime(before.LastUpdateAt, after.LastUpdateAt)
}

// SourceID is the source id of the timeline event of an update with a
// Key, which makes it once-only; "" without one.
func (in UpdateInput) SourceID() string {
	if in.Key == "" {
		return ""
	}
	return "update:" + in.Key
}

// Body is the update's text as recorded: what we know, then what we are
// doing.
func (in UpdateInput) Body() string {
	switch {
	case in.Known != "" && in.Doing != "":
		return "What we know: " + in.Known + "\nWhat we are doing: " + in.Doing
	case in.Doing != "":
		return "What we are doing: " + in.Doing
	default:
		return in.Known
	}
}

// UpdateNotice is a status update as a notice, in the fixed format every
// update uses: what we know, what we are doing, when the next one comes.
func UpdateNotice(inc *Incident, p Policy, in UpdateInput, now time.Time) Notice {
	sp := p.Severity(inc.Severity)
	n := Notice{Kind: NoticeUpdate, Incident: inc.Key(), Actor: in.Author, Mirror: true, Values: map[string]string{
		"severity": inc.Severity.String(), "label": sp.Label, "status": inc.Status.Label(), "known": in.Known, "doing": in.Doing}}
	next := in.NextIn
	if next == 0 {
		next = sp.UpdateEvery
	}
	if next > 0 {
		n.Values["next"] = fmt.Sprintf("%d min", int(next.Minutes()))
		if next < time.Minute {
			n.Values["next"] = fmt.Sprintf("%ds", int(next.Seconds()))
		}
		n.Values["next_at"] = now.Add(next).In(p.Location).Format("15:04:05 MST")
	}
	return n
}

// Settled is s, with declared counted as investigating: a declared
// incident becomes investigating when its channel is ready, not a change
// anyone chose.
func (s Status) Settled() Status {
	if s == StatusDeclared {
		return StatusInvestigating
	}
	return s
}
