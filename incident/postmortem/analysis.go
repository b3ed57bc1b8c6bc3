package postmortem

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// summary writes the one paragraph for a non-technical reader: what, when,
// the user impact, the severity and how long it lasted. People are never
// named: a mention becomes "a responder", in the title as in the
// description and the resolution.
func (c *compiler) summary(d Draft) string {
	anon := func(string) string { return "a responder" }
	var b strings.Builder
	what := strings.TrimSpace(plainText(c.inc.Title, anon))
	if d.Service != "" {
		fmt.Fprintf(&b, "On %s at %s, the %s service had an incident: %s.", c.start.UTC().Format("Monday 2 January 2006"), clock(c.start), d.Service, sentence(what))
	} else {
		fmt.Fprintf(&b, "On %s at %s, an incident began: %s.", c.start.UTC().Format("Monday 2 January 2006"), clock(c.start), sentence(what))
	}
	impact := strings.TrimSpace(plainText(c.inc.Description, anon))
	if impact == "" && len(c.in.Updates) > 0 {
		impact = strings.TrimSpace(plainText(c.in.Updates[0].Text, anon))
	}
	if impact != "" {
		fmt.Fprintf(&b, " Impact on users: %s", punctuate(truncate(oneLine(impact), maxSummaryImpact)))
	} else {
		b.WriteString(" Impact on users: not recorded yet; describe who was affected and how.")
	}
	fmt.Fprintf(&b, " It was rated %s", c.inc.Severity)
	if c.sev.Label != "" {
		fmt.Fprintf(&b, " (%s", c.sev.Label)
		if m := strings.TrimSpace(c.sev.Meaning); m != "" {
			fmt.Fprintf(&b, ": %s", strings.TrimSuffix(lowerFirst(m), "."))
		}
		b.WriteString(")")
	}
	b.WriteString(".")
	if c.inc.ResolvedAt != nil {
		resolved := clock(*c.inc.ResolvedAt)
		if r := c.inc.ResolvedAt.UTC(); r.Format("20060102") != c.start.UTC().Format("20060102") {
			// The paragraph opened with the start's day: a resolution on
			// another day says its own.
			resolved += r.Format(" on Monday 2 January")
		}
		fmt.Fprintf(&b, " It lasted %s and was resolved at %s.", fmtDuration(d.Duration), resolved)
		if s := strings.TrimSpace(plainText(c.inc.Summary, anon)); s != "" {
			fmt.Fprintf(&b, " Resolution: %s", punctuate(truncate(oneLine(s), maxSummaryImpact)))
		}
	} else {
		fmt.Fprintf(&b, " It has been open for %s so far (status: %s).", fmtDuration(d.Duration), statusLabel(c.inc.Status))
	}
	if c.unread {
		b.WriteString(" " + HistoryUnreadNote)
	}
	return b.String()
}

// HistoryUnreadNote ends the summary of a draft compiled without the
// channel's history, so no copy of the draft looks complete.
const HistoryUnreadNote = "This draft was compiled without the incident channel's history, which could not be read back: " +
	"messages sent while the bot was away may be missing."

// Prompts for the sections the team writes.
const (
	RootCausePrompt = "What specific technical change or condition caused the failure, and how did it lead to the user impact? " +
		"Start from the facts below: they are what the bot recorded, not conclusions."
	ContributingPrompt = "Which gaps in our systems and processes (tests, alerts, guard rails, runbooks, tooling, paging) let the cause become an outage, " +
		"or made it last longer? Describe systems, not people."
)

func (c *compiler) rootCause() Analysis {
	a := Analysis{Prompt: RootCausePrompt}
	from := c.start.Add(-ChangeWindow)
	changes := make([]incident.ChangeEvent, 0)
	for _, ch := range c.in.Changes {
		if !ch.OccurredAt.Before(from) && !ch.OccurredAt.After(c.start) {
			changes = append(changes, ch)
		}
	}
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].OccurredAt.Before(changes[j].OccurredAt) })
	if len(changes) == 0 {
		a.Facts = append(a.Facts, fmt.Sprintf("No changes to production were recorded in the %s before the start.", fmtDuration(ChangeWindow)))
	}
	for _, ch := range changes {
		a.Facts = append(a.Facts, fmt.Sprintf("%s, %s before the start: %s.", clock(ch.OccurredAt), fmtDuration(c.start.Sub(ch.OccurredAt)), describeChange(ch)))
	}
	// What happened during the response, in time order.
	type fact struct {
		at   time.Time
		text string
	}
	var during []fact
	for _, r := range c.in.Rollbacks {
		during = append(during, fact{r.CreatedAt, describeRollback(r)})
	}
	for _, ev := range c.events {
		if ev.Kind == incident.EventProviderFailure {
			during = append(during, fact{ev.At, fmt.Sprintf("%s: %s reported a failure: %s",
				clock(ev.At), providerLabel(ev.Actor), punctuate(oneLine(plainText(ev.Text, c.name))))})
		}
	}
	sort.SliceStable(during, func(i, j int) bool { return during[i].at.Before(during[j].at) })
	for _, f := range during {
		a.Facts = append(a.Facts, f.text)
	}
	return a
}

func describeChange(ch incident.ChangeEvent) string {
	var b strings.Builder
	switch ch.Kind {
	case incident.ChangeDeploy:
		b.WriteString("deploy")
	case incident.ChangeFlag:
		b.WriteString("feature flag change")
	case incident.ChangePullRequest:
		b.WriteString("pull request merged")
	case incident.ChangeWorkflow:
		b.WriteString("workflow run")
	case incident.ChangeConfig:
		b.WriteString("configuration change")
	default:
		b.WriteString("change")
	}
	if ch.Service != "" {
		fmt.Fprintf(&b, " for %s", ch.Service)
	}
	if ch.Environment != "" {
		fmt.Fprintf(&b, " in %s", ch.Environment)
	}
	if s := strings.TrimSpace(ch.Summary); s != "" {
		fmt.Fprintf(&b, ", %q", oneLine(s))
	}
	var src []string
	if ch.Source != "" {
		src = append(src, providerLabel(ch.Source))
	}
	if ch.Ref != "" {
		src = append(src, shortRef(ch.Ref))
	}
	if len(src) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(src, " "))
	}
	if ch.URL != "" {
		fmt.Fprintf(&b, " %s", ch.URL)
	}
	return b.String()
}

func describeRollback(r incident.Rollback) string {
	what := strings.TrimSuffix(strings.TrimSpace(r.Plan.Description), ".")
	if what == "" {
		what = "rollback " + r.Key
	}
	head := fmt.Sprintf("%s: a rollback was requested: %s.", clock(r.CreatedAt), what)
	switch r.Status {
	case incident.RollbackSucceeded:
		return fmt.Sprintf("%s It succeeded at %s, %s after the request.", head, clock(r.UpdatedAt), fmtDuration(r.UpdatedAt.Sub(r.CreatedAt)))
	case incident.RollbackFailed:
		s := fmt.Sprintf("%s It failed at %s", head, clock(r.UpdatedAt))
		if d := strings.TrimSpace(r.Detail); d != "" {
			s += ": " + strings.TrimSuffix(oneLine(d), ".")
		}
		return s + "."
	case incident.RollbackRunning:
		return head + " It was still running when this draft was compiled."
	case incident.RollbackAwaitingApproval:
		return head + " It was never approved."
	}
	return head
}

func (c *compiler) contributingFactors(m Metrics) Analysis {
	a := Analysis{Prompt: ContributingPrompt}
	switch ackAt, _ := c.acknowledgedAt(); {
	case ackAt.IsZero():
		a.Facts = append(a.Facts, "No acknowledgement was recorded.")
	case m.AckTarget > 0 && !m.AckWithinTarget:
		a.Facts = append(a.Facts, fmt.Sprintf("The incident was acknowledged %s after it was declared; the %s target is %s.",
			fmtDuration(m.TimeToAcknowledge), c.inc.Severity, m.AckTargetText))
	}
	for _, p := range c.in.Pages {
		if p.AcknowledgedAt != nil {
			continue
		}
		notified := ""
		if n := len(p.Assignees); n > 0 {
			notified = fmt.Sprintf(", %d %s notified", n, plural(n, "person", "people"))
		}
		svc := ""
		if p.Service != "" {
			svc = " for " + p.Service
		}
		a.Facts = append(a.Facts, fmt.Sprintf("A page sent at %s%s (%s%s) was never acknowledged.", clock(p.CreatedAt), svc, providerLabel(p.Provider), notified))
	}
	if m.UpdatesExpected > 0 && m.UpdatesPosted < m.UpdatesExpected {
		a.Facts = append(a.Facts, fmt.Sprintf("%d status %s posted while users were affected; the cadence of one every %s asked for about %d.",
			m.UpdatesPosted, plural(m.UpdatesPosted, "update was", "updates were"), fmtDuration(m.UpdateEvery), m.UpdatesExpected))
	}
	if _, ok := c.first(incident.EventChangesShown); !ok {
		a.Facts = append(a.Facts, "Recent changes were never listed in the channel during the response.")
	}
	for _, r := range c.in.Rollbacks {
		if r.Status == incident.RollbackSucceeded && r.UpdatedAt.Sub(r.CreatedAt) > FastRollback {
			a.Facts = append(a.Facts, fmt.Sprintf("A rollback took %s from request to success; the goal is under %s.",
				fmtDuration(r.UpdatedAt.Sub(r.CreatedAt)), fmtDuration(FastRollback)))
		}
	}
	return a
}

func (c *compiler) wentWell(m Metrics) []string {
	var out []string
	if m.AckWithinTarget {
		out = append(out, fmt.Sprintf("The incident was acknowledged %s after it was declared, inside the %s target of %s.",
			fmtDuration(m.TimeToAcknowledge), c.inc.Severity, m.AckTargetText))
	}
	for _, ev := range c.events {
		if commanderAssigned(ev) {
			switch d := ev.At.Sub(c.inc.DeclaredAt); {
			case d < time.Second:
				out = append(out, "An Incident Commander was in place from the moment the incident was declared.")
			case d <= 5*time.Minute:
				out = append(out, fmt.Sprintf("An Incident Commander was in place %s after the declaration.", fmtDuration(d)))
			}
			break
		}
	}
	if ev, ok := c.first(incident.EventChangesShown); ok {
		out = append(out, fmt.Sprintf("Recent changes were listed in the channel %s after the declaration.", fmtDuration(ev.At.Sub(c.inc.DeclaredAt))))
	}
	for _, r := range c.in.Rollbacks {
		if d := r.UpdatedAt.Sub(r.CreatedAt); r.Status == incident.RollbackSucceeded && d < FastRollback {
			out = append(out, fmt.Sprintf("A rollback completed in %s, under the %s goal: %s.",
				fmtDuration(d), fmtDuration(FastRollback), strings.TrimSuffix(strings.TrimSpace(r.Plan.Description), ".")))
		}
	}
	if m.UpdatesExpected > 0 && m.UpdatesPosted >= m.UpdatesExpected {
		out = append(out, fmt.Sprintf("%d status %s posted, meeting the cadence of one every %s (about %d expected).",
			m.UpdatesPosted, plural(m.UpdatesPosted, "update was", "updates were"), fmtDuration(m.UpdateEvery), m.UpdatesExpected))
	}
	if acked := len(c.ackPages()); acked > 0 && acked == len(c.in.Pages) {
		out = append(out, fmt.Sprintf("Every page was acknowledged (%d %s).", acked, plural(acked, "page", "pages")))
	}
	if c.inc.MitigatedAt != nil && c.inc.ResolvedAt != nil && c.inc.MitigatedAt.Before(*c.inc.ResolvedAt) {
		out = append(out, fmt.Sprintf("User impact was mitigated %s after the declaration, %s before the full resolution.",
			fmtDuration(m.TimeToMitigate), fmtDuration(c.inc.ResolvedAt.Sub(*c.inc.MitigatedAt))))
	}
	return out
}

func (c *compiler) actions() []Action {
	out := make([]Action, 0, len(c.in.ActionItems))
	for _, it := range c.in.ActionItems {
		a := Action{
			Text:        oneLine(plainText(it.Text, c.name)),
			Done:        it.Done,
			URL:         it.ExternalURL,
			OwnerNeeded: it.Owner == "",
			DueNeeded:   it.DueOn == nil,
			Item:        it,
		}
		if it.Owner != "" {
			a.Owner = c.name(it.Owner)
		}
		if it.DueOn != nil {
			a.Due = *it.DueOn
		}
		out = append(out, a)
	}
	return out
}
