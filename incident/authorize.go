package incident

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// membershipTTL is how long a resolved user group or e-mail is trusted:
// long enough that a burst of clicks costs one lookup, short enough that
// someone removed from a group loses the right within a minute.
const membershipTTL = time.Minute

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
	if req.Incident != nil && req.Incident.Private && !req.Subject.Member {
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
// private one only for its members.
func (s *authz) CanSee(ctx context.Context, user string, inc *Incident) (bool, error) {
	if !inc.Private {
		return true, nil
	}
	return s.isMember(ctx, inc, user)
}

// isMember reports whether user is a member of inc: one of its named
// people, or in its channel.
func (s *authz) isMember(ctx context.Context, inc *Incident, user string) (bool, error) {
	if user == "" {
		return false, nil
	}
	if user == inc.DeclaredBy || user == inc.Commander {
		return true, nil
	}
	for _, holder := range inc.Roles {
		if holder == user {
			return true, nil
		}
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

// Visible keeps the incidents user may see.
func (s *authz) Visible(ctx context.Context, user string, incs []*Incident) ([]*Incident, error) {
	out := make([]*Incident, 0, len(incs))
	for _, inc := range incs {
		ok, err := s.CanSee(ctx, user, inc)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, inc)
		}
	}
	return out, nil
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
// private one only for its members.
func (s *Service) CanSee(ctx context.Context, user string, inc *Incident) (bool, error) {
	return s.authz.CanSee(ctx, user, inc)
}
