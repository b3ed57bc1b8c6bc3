package postmortem

import (
	"sort"
	"strings"

	"github.com/firebreakhq/firebreak/incident"
)

// name returns the display name for a Slack user id, "firebreak" for the
// bot, and anything else (a provider) as it is.
func (c *compiler) name(id string) string {
	switch {
	case id == "" || id == "bot":
		return "firebreak"
	case c.names[id] != "":
		return c.names[id]
	}
	return id
}

// isUser reports whether an actor is a person: a known name or something
// shaped like a Slack user id.
func (c *compiler) isUser(id string) bool {
	if id == "" || id == "bot" {
		return false
	}
	if _, ok := c.names[id]; ok {
		return true
	}
	return slackUserID(id)
}

// slackUserID reports whether s looks like a Slack user id (U… or W…,
// upper-case letters and digits).
func slackUserID(s string) bool {
	if len(s) < 3 || (s[0] != 'U' && s[0] != 'W') {
		return false
	}
	for i := 1; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'A' && ch <= 'Z') && !(ch >= '0' && ch <= '9') {
			return false
		}
	}
	return true
}

// participants lists everyone who acted or wrote: message authors, the
// actors of the bot's events, status-update authors, the people who asked for
// or approved a rollback, the role holders and whoever acknowledged a page.
func (c *compiler) participants() (all, mostActive []Participant) {
	byID := map[string]*Participant{}
	var order []string
	add := func(id string) *Participant {
		if p, ok := byID[id]; ok {
			return p
		}
		p := &Participant{ID: id, Name: c.name(id)}
		byID[id] = p
		order = append(order, id)
		return p
	}
	for _, ev := range c.events {
		actor := ev.Actor
		if ev.Kind == incident.EventMessage {
			actor = messageUser(ev)
		}
		if c.isUser(actor) {
			add(actor)
		}
	}
	for _, u := range c.in.Updates {
		if c.isUser(u.Author) {
			add(u.Author)
		}
	}
	for _, r := range c.in.Rollbacks {
		for _, id := range []string{r.RequestedBy, r.ApprovedBy} {
			if c.isUser(id) {
				add(id)
			}
		}
	}
	if c.isUser(c.inc.DeclaredBy) {
		add(c.inc.DeclaredBy)
	}
	if c.isUser(c.inc.Commander) {
		p := add(c.inc.Commander)
		p.Roles = append(p.Roles, "Incident Commander")
	}
	roles := make([]string, 0, len(c.inc.Roles))
	for r := range c.inc.Roles {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, r := range roles {
		if id := c.inc.Roles[r]; c.isUser(id) {
			p := add(id)
			p.Roles = append(p.Roles, r+" lead")
		}
	}
	for _, pg := range c.in.Pages {
		if pg.AcknowledgedBy != "" && !c.knownName(pg.AcknowledgedBy, byID) {
			// The provider names the person; key the entry by that name.
			p := add("name:" + pg.AcknowledgedBy)
			p.ID, p.Name = "", pg.AcknowledgedBy
		}
	}
	for id, n := range c.perUser {
		if p, ok := byID[id]; ok {
			p.Messages = n
		}
	}
	all = make([]Participant, 0, len(order))
	for _, id := range order {
		all = append(all, *byID[id])
	}
	sort.SliceStable(all, func(i, j int) bool { return strings.ToLower(all[i].Name) < strings.ToLower(all[j].Name) })
	for _, p := range all {
		if p.Messages > 0 {
			mostActive = append(mostActive, p)
		}
	}
	sort.SliceStable(mostActive, func(i, j int) bool { return mostActive[i].Messages > mostActive[j].Messages })
	if len(mostActive) > MostActiveLimit {
		mostActive = mostActive[:MostActiveLimit]
	}
	return all, mostActive
}

// knownName reports whether a provider-side name is already a participant.
func (c *compiler) knownName(name string, byID map[string]*Participant) bool {
	for _, p := range byID {
		if strings.EqualFold(p.Name, name) {
			return true
		}
	}
	return false
}
