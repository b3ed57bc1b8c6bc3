package incident

import (
	"context"
	"fmt"
	"time"
)

// Comms template names, in the order they are shown.
var CommsTemplates = []struct{ Name, Title string }{
	{"comms_statuspage_ack.tmpl", "Status page: first acknowledgement"},
	{"comms_statuspage_update.tmpl", "Status page: 30-minute update"},
	{"comms_resolution.tmpl", "Status page: resolution notice"},
	{"comms_customer_email.tmpl", "Customer e-mail (P1 over 30 minutes)"},
}

// Renderer renders a named template; templates.Set implements it.
type Renderer interface {
	Render(name string, data any) (string, error)
}

// CommsData is what the comms templates are filled with. Every field is in
// words a customer understands.
type CommsData struct {
	Key      string
	Title    string
	Severity string
	// Affected names what customers use: the service's name, or the title.
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

// Draft is one rendered comms draft.
type Draft struct {
	Title string
	Text  string
}

// Comms renders the four comms drafts for an incident, ready to copy or
// edit. The customer e-mail is included for every severity but is meant
// for P1s that last over 30 minutes; the title says so.
func (s *Service) Comms(ctx context.Context, id int64, r Renderer) ([]Draft, error) {
	inc, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	updates, err := s.store.ListStatusUpdates(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("comms: %w", err)
	}
	data := s.commsData(inc, updates)
	out := make([]Draft, 0, len(CommsTemplates))
	for _, t := range CommsTemplates {
		text, err := r.Render(t.Name, data)
		if err != nil {
			return nil, fmt.Errorf("comms: %w", err)
		}
		out = append(out, Draft{Title: t.Title, Text: text})
	}
	return out, nil
}

func (s *Service) commsData(inc *Incident, updates []StatusUpdate) CommsData {
	now := s.clock.Now()
	d := CommsData{Key: inc.Key(), Title: inc.Title, Severity: inc.Severity.String(), Affected: inc.Title,
		Impact: inc.Description, Summary: inc.Summary, StartedAt: inc.DeclaredAt, Now: now,
		NextUpdateMinutes: 30, Signature: "The team"}
	if svc, ok := s.policy.Services[inc.Service]; ok && svc.Name != "" {
		d.Affected = svc.Name
	}
	if every := s.policy.Severity(inc.Severity).UpdateEvery; every > 0 && every < 30*time.Minute {
		d.NextUpdateMinutes = max(1, int(every.Minutes()))
	}
	if n := len(updates); n > 0 {
		d.LatestUpdate = updates[n-1].Text
	}
	end := now
	if inc.ResolvedAt != nil {
		d.ResolvedAt = *inc.ResolvedAt
		end = *inc.ResolvedAt
	}
	d.Duration = end.Sub(inc.DeclaredAt)
	return d
}
