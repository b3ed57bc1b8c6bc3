package postmortem

import (
	"fmt"

	"github.com/firebreakhq/firebreak/incident"
)

// Template names Document renders; templates.Set provides both.
const (
	MarkdownTemplate   = "postmortem.md.tmpl"
	ConfluenceTemplate = "postmortem.confluence.tmpl"
)

// Renderer renders a named template with data; *templates.Set is one.
type Renderer interface {
	Render(name string, data any) (string, error)
}

// Document renders the draft as Markdown and as Confluence storage format,
// ready for the exporters, with the action items worded as in the draft
// and the names of their owners. The
// Confluence output is XHTML in which every
// user text is escaped, so it is well-formed whatever people wrote.
func Document(d Draft, r Renderer) (incident.PostmortemDoc, error) {
	md, err := r.Render(MarkdownTemplate, d)
	if err != nil {
		return incident.PostmortemDoc{}, fmt.Errorf("postmortem markdown: %w", err)
	}
	conf, err := r.Render(ConfluenceTemplate, d)
	if err != nil {
		return incident.PostmortemDoc{}, fmt.Errorf("postmortem confluence: %w", err)
	}
	items := make([]incident.ActionItem, 0, len(d.ActionItems))
	names := map[string]string{}
	for _, a := range d.ActionItems {
		item := a.Item
		if a.Text != "" {
			// As the draft words it: people named, chat markup gone.
			item.Text = a.Text
		}
		items = append(items, item)
		if id := a.Item.Owner; id != "" && a.Owner != "" && a.Owner != id {
			names[id] = a.Owner
		}
	}
	return incident.PostmortemDoc{
		IncidentKey: d.Key,
		Title:       d.Title,
		Slug:        d.Slug,
		Date:        d.Date,
		Markdown:    md,
		Confluence:  conf,
		ActionItems: items,
		OwnerNames:  names,
	}, nil
}
