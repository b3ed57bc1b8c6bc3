package incident

import "context"

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
	via, _ := ctx.Value(viaKey{}).(string)
	if via == "" {
		return events
	}
	for i := range events {
		if events[i].Text != "" {
			events[i].Text += " (through " + EscapeText(via) + ")"
		}
	}
	return events
}
