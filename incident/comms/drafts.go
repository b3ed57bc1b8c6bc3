package comms

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// Templates names the comms templates, in the order they are shown.
var Templates = []struct{ Name, Title string }{
	{"comms_statuspage_ack.tmpl", "Status page: first acknowledgement"},
	{"comms_statuspage_update.tmpl", "Status page: 30-minute update"},
	{"comms_resolution.tmpl", "Status page: resolution notice"},
	{"comms_customer_email.tmpl", "Customer e-mail (P1 over 30 minutes)"},
}

// Renderer renders a named template; templates.Set implements it.
type Renderer interface {
	Render(name string, data any) (string, error)
}

// Data is what the comms templates are filled with. Every field is in
// words a customer understands.
type Data struct {
	Key      string
	Title    string
	Severity string
	// Affected names what customers use: the service's public name, else
	// "our service", never the internal title. Title is redacted for a
	// private incident.
	Affected string
	// Impact is the incident's description: what customers experience.
	Impact            string
	LatestUpdate      string
	Summary           string
	StartedAt         time.Time
	ResolvedAt        time.Time
	Duration          time.Duration
	NextUpdateMinutes int
	Now               time.Time
	Signature         string
}

// Sentence returns s ending as a sentence does, for a template that writes
// another sentence after it (incident.EndSentence).
func (Data) Sentence(s string) string { return incident.EndSentence(s) }

// unnamedAffected names what is affected in the drafts when the service
// has no public name: the internal title is not written for customers,
// just as the status page's own name for it is "Service disruption"
// (publicName).
const unnamedAffected = "our service"

// Draft is one rendered comms draft.
type Draft struct {
	Title string
	Text  string
}

// Comms renders the four comms drafts for an incident, ready to copy or
// edit. The customer e-mail is included for every severity but is meant
// for P1s that last over 30 minutes; the title says so. EINTERNAL when no
// templates are loaded.
func (s *Service) Comms(ctx context.Context, id int64) ([]Draft, error) {
	r := s.templates
	if r == nil {
		return nil, incident.Errorf(incident.EINTERNAL, "No comms templates are loaded.")
	}
	inc, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	updates, err := s.store.ListStatusUpdates(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("comms: %w", err)
	}
	data := s.commsData(inc, updates)
	out := make([]Draft, 0, len(Templates))
	for _, t := range Templates {
		text, err := r.Render(t.Name, data)
		if err != nil {
			return nil, fmt.Errorf("comms: %w", err)
		}
		out = append(out, Draft{Title: t.Title, Text: text})
	}
	return out, nil
}

func (b *base) commsData(inc *incident.Incident, updates []incident.StatusUpdate) Data {
	now := b.clock.Now()
	d := Data{Key: inc.Key(), Title: inc.Title, Severity: inc.Severity.String(), Affected: unnamedAffected,
		Impact: publicText(inc.Description), Summary: publicText(inc.Summary), StartedAt: inc.DeclaredAt, Now: now,
		NextUpdateMinutes: 30, Signature: "The team"}
	if inc.Private {
		// The drafts are written for customers: a private incident's title
		// stays in the chat, and the status page names it as any incident
		// of its service (publicName).
		d.Title = incident.DisclosedTitle(inc, incident.DiscloseRedacted)
	}
	if svc, ok := b.policy.Services[inc.Service]; ok && svc.Name != "" {
		d.Affected = svc.Name
	}
	if every := b.policy.Severity(inc.Severity).UpdateEvery; every > 0 && every < 30*time.Minute {
		d.NextUpdateMinutes = max(1, int(every.Minutes()))
	}
	if n := len(updates); n > 0 {
		d.LatestUpdate = publicText(updates[n-1].Text)
	}
	end := now
	if inc.ResolvedAt != nil {
		d.ResolvedAt = *inc.ResolvedAt
		end = *inc.ResolvedAt
	}
	d.Duration = end.Sub(inc.DeclaredAt)
	return d
}

// publicMention is how a person mentioned in what responders wrote is
// named to customers: never by name.
const publicMention = "our team"

// publicText is text responders wrote in the chat (an update, the
// description, the summary) as customers may read it: plain text, its
// mentions, channels and links written out rather than left as the chat's
// markup, and nobody named.
func publicText(s string) string {
	return incident.PlainText(s, func(string) string { return publicMention })
}

// templateFor names the comms template of a post kind and its ref.
func templateFor(kind, ref string) string {
	switch {
	case kind == incident.PostAcknowledge:
		return "comms_statuspage_ack.tmpl"
	case kind == incident.PostResolution:
		return "comms_resolution.tmpl"
	case kind == incident.PostUpdate && strings.HasPrefix(ref, refReopen):
		return "comms_statuspage_reopen.tmpl"
	}
	return "comms_statuspage_update.tmpl"
}

// leadingStatus is the "Investigating - " a draft starts with; status pages
// show the status themselves.
var leadingStatus = regexp.MustCompile(`^(?i)(investigating|identified|monitoring|update|resolved)\s+-\s+`)

// draftBody renders the public text of a post kind.
func (b *base) draftBody(ctx context.Context, inc *incident.Incident, kind, ref string) (string, error) {
	text, err := b.renderComms(ctx, inc, templateFor(kind, ref), ref)
	if err != nil {
		return "", err
	}
	text = leadingStatus.ReplaceAllString(strings.TrimSpace(text), "")
	// The copy-paste drafts end with when they were written; a status page
	// stamps each post itself.
	if i := strings.LastIndex(text, "\n"); i >= 0 && strings.HasPrefix(text[i+1:], "Posted ") {
		text = strings.TrimSpace(text[:i])
	}
	return text, nil
}

// renderComms renders a comms template; with ref naming a status update,
// that update is the latest one.
func (b *base) renderComms(ctx context.Context, inc *incident.Incident, name, ref string) (string, error) {
	updates, err := b.store.ListStatusUpdates(ctx, inc.ID)
	if err != nil {
		return "", fmt.Errorf("comms: %w", err)
	}
	if ref != "" {
		for i, u := range updates {
			if strconv.FormatInt(u.ID, 10) == ref {
				updates = updates[:i+1]
				break
			}
		}
	}
	data := b.commsData(inc, updates)
	if b.templates == nil {
		return fallbackComms(name, data), nil
	}
	text, err := b.templates.Render(name, data)
	if err != nil {
		return "", fmt.Errorf("comms: %w", err)
	}
	return text, nil
}

// fallbackComms is the text when no templates are loaded.
func fallbackComms(name string, d Data) string {
	switch name {
	case "comms_statuspage_ack.tmpl":
		return fmt.Sprintf("We are aware of an issue affecting %s and are investigating. We will post an update within %d minutes.", d.Affected, d.NextUpdateMinutes)
	case "comms_resolution.tmpl":
		return fmt.Sprintf("The issue affecting %s has been resolved.", d.Affected)
	case "comms_statuspage_reopen.tmpl":
		return fmt.Sprintf("The issue affecting %s has returned, and our team is investigating again. We will post an update within %d minutes.", d.Affected, d.NextUpdateMinutes)
	case "comms_customer_email.tmpl":
		return fmt.Sprintf("Subject: %s disruption\n\nWe are writing about a problem that affected %s.", d.Affected, d.Affected)
	}
	return strings.TrimSpace(fmt.Sprintf("We are continuing to investigate the issue affecting %s. %s", d.Affected, d.LatestUpdate))
}
