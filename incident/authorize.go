package incident

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// membershipTTL is how long a resolved user group or e-mail is trusted:
// long enough that a burst of clicks costs one lookup, short enough that
// someone removed from a group loses the right within a minute.
const membershipTTL = time.Minute

// guestLookupTimeout bounds the question whether the person asking is a
// guest, which is on the path of every command and click: with the
// database's own deadline it stays within Slack's 3 seconds.
const guestLookupTimeout = 800 * time.Millisecond

// authz answers who may do what and who may see which incident: the
// permission model (Policy.Decide) fed with the memberships it needs (user
// groups and e-mails, a private incident's channel), read from the chat
// and cached for a minute. The Service and, through its Authorize and
// CanSee, the feature packages, bot and web ask it.
type authz struct {
	policy    Policy
	rooms     ChannelSetup
	people    Directory
	incidents IncidentStore
	clock     Clock
	log       *slog.Logger
	members   membership
}

// membership caches what policy references resolve to.
type membership struct {
	mu      sync.Mutex
	entries map[string]membershipEntry
}

type membershipEntry struct {
	ids []string
	at  time.Time
}

// Authorize answers whether req.Subject.User may do req.Action, filling in
// the subject's memberships (the policy's user groups and e-mails, and for
// a private incident whether they are one of its members) first. The
// decision's Err is the refusal to return. An error means a membership
// could not be read.
func (s *authz) Authorize(ctx context.Context, req Request) (Decision, error) {
	if req.Subject.In == nil {
		req.Subject.In = map[string]bool{}
	}
	if !req.Subject.Guest {
		guest, known := s.guestStatus(ctx, req.Subject.User)
		// Seeing (an incident, who is on call) is for those the chat
		// says are members; acting is for anyone it cannot say about.
		req.Subject.Guest = guest || (!known && (req.Action == ActView || req.Action == ActSeeOnCall))
	}
	if req.Incident != nil && (req.Incident.Private || req.Subject.Guest) && !req.Subject.Member {
		member, err := s.isMember(ctx, req.Incident, req.Subject.User)
		if err != nil {
			return Decision{}, err
		}
		req.Subject.Member = member
	}
	// Most requests are decided without a lookup: the IC acting in their
	// own incident, anyone declaring.
	if d := s.policy.Decide(req); d.Allowed && !d.Confirm {
		return d, nil
	}
	for _, ref := range s.policy.RefsFor(req) {
		in, err := s.refContains(ctx, ref, req.Subject.User)
		if err != nil {
			return Decision{}, err
		}
		if in {
			req.Subject.In[ref] = true
		}
	}
	return s.policy.Decide(req), nil
}

// authorize is Authorize returning the refusal as an error.
func (s *authz) authorize(ctx context.Context, req Request) error {
	d, err := s.Authorize(ctx, req)
	if err != nil {
		return fmt.Errorf("check permission: %w", err)
	}
	return d.Err()
}

// guestStatus reports whether user is a guest of the workspace, and whether
// the chat could say so within guestLookupTimeout; when it could not, a
// warning is logged. To act, someone the chat cannot say about is taken
// for a member: a slow directory must not stop the workspace's people from
// declaring, updating or paging during an outage, and a guest's commands
// reach the bot only from the channels they were let into. To see, they
// are taken for a guest (mayBeGuest).
func (s *authz) guestStatus(ctx context.Context, user string) (guest, known bool) {
	if user == "" || user == "bot" {
		return false, true
	}
	ctx, cancel := context.WithTimeout(ctx, guestLookupTimeout)
	defer cancel()
	guest, err := s.people.IsGuest(ctx, user)
	if err != nil {
		s.logger().WarnContext(ctx, "could not tell whether the person is a guest of the workspace; taken for a member to act, for a guest to see", "user", user, "err", err)
		return false, false
	}
	return guest, true
}

// mayBeGuest is guestStatus for seeing: someone the chat cannot say about
// sees only the incidents they are a member of, as a guest does, rather
// than every public one.
func (s *authz) mayBeGuest(ctx context.Context, user string) bool {
	guest, known := s.guestStatus(ctx, user)
	return guest || !known
}

func (s *authz) logger() *slog.Logger {
	if s.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.log
}

// mayDeclare checks that the declarer may declare, and may name someone
// else as the IC. The bot declares from alerts and drill schedules the
// policy set up.
func (s *authz) mayDeclare(ctx context.Context, in DeclareInput) error {
	if in.DeclaredBy == "bot" {
		return nil
	}
	if err := s.authorize(ctx, Request{Subject: Subject{User: in.DeclaredBy}, Action: ActDeclare}); err != nil {
		return err
	}
	if in.Commander != "" && in.Commander != in.DeclaredBy {
		return s.authorize(ctx, Request{Subject: Subject{User: in.DeclaredBy}, Action: ActNameIC, Target: in.Commander})
	}
	return nil
}

// CanSee reports whether user may see inc: every public incident, and a
// private one only for its members; a guest of the workspace sees only the
// incidents they are a member of. Whether they are in the incident's
// channel is read from their channels (UserChannels, which the chat keeps
// for a minute), as the lists read it: a list and an incident's page
// agree, and asking about incident after incident costs the chat one
// question a minute, not one each. An error means the chat could not say,
// and the person is not one of the incident's named people.
func (s *authz) CanSee(ctx context.Context, user string, inc *Incident) (bool, error) {
	kept, unknown, err := s.visible(ctx, user, []*Incident{inc})
	switch {
	case err != nil:
		return false, err
	case len(kept) == 1:
		return true, nil
	}
	return false, unknown
}

// isMember reports whether user is a member of inc: one of its named
// people, or in its channel.
func (s *authz) isMember(ctx context.Context, inc *Incident, user string) (bool, error) {
	if user == "" {
		return false, nil
	}
	if named(inc, user) {
		return true, nil
	}
	if inc.ChannelID == "" {
		return false, nil
	}
	in, err := s.rooms.IsMember(ctx, inc.ChannelID, user)
	if err != nil {
		return false, fmt.Errorf("read the members of %s: %w", inc.Key(), err)
	}
	return in, nil
}

// refContains reports whether a policy reference (a user id, a user group
// id or an e-mail address) includes user.
func (s *authz) refContains(ctx context.Context, ref, user string) (bool, error) {
	if ref == user {
		return true, nil
	}
	now := s.clock.Now()
	s.members.mu.Lock()
	e, ok := s.members.entries[ref]
	s.members.mu.Unlock()
	if !ok || now.Sub(e.at) > membershipTTL || now.Before(e.at) {
		ids, _, err := s.people.ResolveUsers(ctx, []string{ref})
		if err != nil {
			return false, fmt.Errorf("read who is in %s: %w", ref, err)
		}
		e = membershipEntry{ids: ids, at: now}
		s.members.mu.Lock()
		if s.members.entries == nil {
			s.members.entries = map[string]membershipEntry{}
		}
		s.members.entries[ref] = e
		s.members.mu.Unlock()
	}
	return slices.Contains(e.ids, user), nil
}

// Visible keeps the incidents user may see: every public one, and those
// they are a member of (named in, or in the channel of), which is all a
// guest sees. The person's channels are read once for the lot
// (UserChannels), and only when an incident needs it, rather than each
// incident's members.
//
// When the chat cannot say which channels a member of the workspace is in,
// Visible returns what needs no channel to decide (the public incidents and
// the private ones the person is named in) together with a
// *ChannelsUnknown error; any other error (a guest's, or someone's who may
// be one) comes with no incidents.
func (s *authz) Visible(ctx context.Context, user string, incs []*Incident) ([]*Incident, error) {
	kept, unknown, err := s.visible(ctx, user, incs)
	switch {
	case err != nil:
		return nil, err
	case unknown != nil:
		return kept, unknown
	}
	return kept, nil
}

// ChannelsUnknown is Visible's error when the chat could not say which
// channels a member of the workspace is in. The incidents Visible returns
// with it leave out every private incident the person is not named in,
// whether or not they are in its channel.
type ChannelsUnknown struct {
	User string
	Err  error
}

// Error implements the error interface.
func (e *ChannelsUnknown) Error() string {
	return fmt.Sprintf("read the channels of %s: %v", e.User, e.Err)
}

// Unwrap returns why the chat could not say.
func (e *ChannelsUnknown) Unwrap() error { return e.Err }

// visible keeps the incidents user may see, reading the person's channels
// once, when an incident needs them. When the chat cannot say, a guest (or
// someone who may be one) gets err, since a guest sees nothing the
// channels do not show; a member of the workspace gets what needs no
// channel, and unknown (a *ChannelsUnknown) says why the rest is left out.
func (s *authz) visible(ctx context.Context, user string, incs []*Incident) (kept []*Incident, unknown, err error) {
	guest := s.mayBeGuest(ctx, user)
	var in map[string]bool
	kept = make([]*Incident, 0, len(incs))
	for _, inc := range incs {
		switch {
		case !inc.Private && !guest, named(inc, user):
			kept = append(kept, inc)
			continue
		case inc.ChannelID == "" || user == "" || unknown != nil:
			continue
		}
		if in == nil {
			channels, err := s.people.UserChannels(ctx, user)
			if err != nil && guest {
				return nil, nil, fmt.Errorf("read the channels of %s: %w", user, err)
			}
			if err != nil {
				unknown = &ChannelsUnknown{User: user, Err: err}
				continue
			}
			in = make(map[string]bool, len(channels))
			for _, c := range channels {
				in[c] = true
			}
		}
		if in[inc.ChannelID] {
			kept = append(kept, inc)
		}
	}
	return kept, unknown, nil
}

// named reports whether user is one of inc's named people: its declarer,
// its IC or the holder of one of its roles.
func named(inc *Incident, user string) bool {
	if user == inc.DeclaredBy || user == inc.Commander {
		return true
	}
	for _, holder := range inc.Roles {
		if holder == user {
			return true
		}
	}
	return false
}

// authorizeOn checks that actor may do act in the incident id.
func (s *authz) authorizeOn(ctx context.Context, id int64, actor string, act Action) error {
	inc, err := s.incidents.GetIncident(ctx, id)
	if err != nil {
		return err
	}
	return s.authorize(ctx, Request{Subject: Subject{User: actor}, Action: act, Incident: inc})
}

// Authorize answers whether req.Subject.User may do req.Action, filling in
// the subject's memberships (the policy's user groups and e-mails, and for
// a private incident whether they are one of its members) first. The
// decision's Err is the refusal to return. An error means a membership
// could not be read.
func (s *Service) Authorize(ctx context.Context, req Request) (Decision, error) {
	return s.authz.Authorize(ctx, req)
}

// CanSee reports whether user may see inc: every public incident, and a
// private one only for its members (named in it, or in its channel as the
// person's channels, cached briefly, say). An error means the chat could
// not say.
func (s *Service) CanSee(ctx context.Context, user string, inc *Incident) (bool, error) {
	return s.authz.CanSee(ctx, user, inc)
}
