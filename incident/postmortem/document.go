package postmortem

import (
	"fmt"
	"unicode/utf8"

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

// ConfluenceBudget bounds the Confluence storage body Document renders, in
// bytes. Confluence refuses a request over 5 MiB (5,242,880 bytes) with
// 413, and the same page would be refused at every retry. Sent as JSON
// without HTML escaping, a storage body grows at most twofold (a newline,
// a quote or a backslash takes two bytes; "<" and "&" go as they are), so
// a body within 2 MiB fits with room for the rest of the request.
const ConfluenceBudget = 2 << 20

// keyEventCuts are the lengths, in characters, long key events are cut to
// in turn until the Confluence page fits its budget.
var keyEventCuts = []int{4000, 1000, 300}

// Document renders the draft as Markdown and as Confluence storage format,
// ready for the exporters, with the action items worded as in the draft
// and the names of their owners. The
// Confluence output is XHTML in which every
// user text is escaped, so it is well-formed whatever people wrote, and it
// stays within ConfluenceBudget: past it, the longest key events (pasted
// logs and error pages) are shortened with a note that the whole text is in
// the channel, and if that is not enough the last ones are left out, said
// too. The Markdown is always whole.
func Document(d Draft, r Renderer) (incident.PostmortemDoc, error) {
	md, err := r.Render(MarkdownTemplate, d)
	if err != nil {
		return incident.PostmortemDoc{}, fmt.Errorf("postmortem markdown: %w", err)
	}
	conf, err := confluencePage(d, r)
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

// confluencePage renders the Confluence page of d within ConfluenceBudget
// (see Document). A page still over it with no key event left (which no
// record of an incident comes near) is returned as it is, and Confluence's
// refusal then says so.
func confluencePage(d Draft, r Renderer) (string, error) {
	page, err := r.Render(ConfluenceTemplate, d)
	if err != nil || len(page) <= ConfluenceBudget {
		return page, err
	}
	for _, n := range keyEventCuts {
		d.KeyEvents = cutKeyEvents(d.KeyEvents, n)
		if page, err = r.Render(ConfluenceTemplate, d); err != nil || len(page) <= ConfluenceBudget {
			return page, err
		}
	}
	// Keep as many of the first key events as fit: the most the page can
	// hold is found by halving, each try a render.
	all := d.KeyEvents
	render := func(keep int) (string, error) {
		d.KeyEvents, d.KeyEventsOmitted = all[:keep], len(all)-keep
		return r.Render(ConfluenceTemplate, d)
	}
	lo, hi := 0, len(all)-1 // lo fits or is 0; all of them do not fit
	best, err := render(0)
	if err != nil || len(best) > ConfluenceBudget {
		return best, err
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		p, err := render(mid)
		if err != nil {
			return "", err
		}
		if len(p) <= ConfluenceBudget {
			lo, best = mid, p
		} else {
			hi = mid - 1
		}
	}
	return best, nil
}

// cutKeyEvents returns events with each text longer than n characters cut
// to n and marked, leaving events as they are.
func cutKeyEvents(events []Event, n int) []Event {
	out := make([]Event, len(events))
	for i, ev := range events {
		if utf8.RuneCountInString(ev.Text) > n {
			ev.Text, ev.Cut = truncate(ev.Text, n), true
		}
		out[i] = ev
	}
	return out
}
