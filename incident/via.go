package incident

import (
	"context"
	"strings"
	"unicode"
)

type viaKey struct{}

// WithVia marks ctx as a request a person makes through something that
// acts for them, such as an API token: the timeline lines of the changes
// made on ctx are still theirs, and say what made them, so that a change an
// integration made can be told from one the person made by hand. via is
// plain text ("the API token “deploy-sync”"); "" leaves ctx unmarked.
func WithVia(ctx context.Context, via string) context.Context {
	if via == "" {
		return ctx
	}
	return context.WithValue(ctx, viaKey{}, via)
}

// markVia ends the text of each event with what ctx says made the change,
// in the chat's markup the timeline keeps (ADR 0033).
func markVia(ctx context.Context, events []TimelineEvent) []TimelineEvent {
	note := ViaNote(ctx)
	if note == "" {
		return events
	}
	for i := range events {
		if events[i].Text != "" {
			events[i].Text += note
		}
	}
	return events
}

// ViaNote is what a timeline line made on ctx ends with: " (through the
// API token “deploy-sync”)" in the timeline's markup, or "" when ctx is
// not marked by WithVia. Control and direction-changing characters of a
// name are left out, so the note stays on its line and reads as written.
func ViaNote(ctx context.Context) string { return viaNote(viaOf(ctx)) }

func viaNote(via string) string {
	via = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || bidiControl(r) {
			return -1
		}
		return r
	}, via)
	if via == "" {
		return ""
	}
	return " (through " + EscapeText(via) + ")"
}

// viaOf is what ctx says makes its changes, "" for the person themself.
func viaOf(ctx context.Context) string {
	via, _ := ctx.Value(viaKey{}).(string)
	return via
}
