// Package postmortemtest holds recorded incidents for tests, golden files,
// benchmarks and the demo: a realistic P1 replay and a generator of busy
// incidents.
package postmortemtest

import (
	"fmt"
	"time"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/postmortem"
)

// People in the replay, by Slack user id.
const (
	Alice = "U01ALICE" // declares and is the Incident Commander
	Bob   = "U02BOB"   // the on-call engineer, acknowledges late
	Cara  = "U03CARA"  // comms lead
	Dev   = "U04DEV"   // finds the deploy and rolls it back
)

// Declared is when the replay's incident was declared.
func Declared() time.Time { return time.Date(2026, time.March, 14, 14, 5, 0, 0, time.UTC) }

// Names maps the replay's user ids to display names.
func Names() map[string]string {
	return map[string]string{Alice: "Alice Ng", Bob: "Bob Martin", Cara: "Cara Díaz", Dev: "Dev Patel"}
}

// Replay returns a P1 as the bot records one: checkout fails after a deploy
// adds an unindexed query; the on-call acknowledges 22 minutes in, after the
// 15-minute target; a deploy rollback succeeds in 3m20s while a flag
// rollback fails; the status page provider fails once; the channel has
// threads, an edited message, a deleted pinned message, pins, a :pushpin:
// reaction and notes; three status updates are posted in the 45 minutes
// before mitigation, where the 10-minute cadence asked for four; one action item has no owner and two have no
// due date. One change summary names a person, which the blameless check
// flags.
func Replay() postmortem.Input {
	t0 := Declared()
	at := func(min, sec int) time.Time {
		return t0.Add(time.Duration(min)*time.Minute + time.Duration(sec)*time.Second)
	}
	ptr := func(t time.Time) *time.Time { return &t }

	inc := &incident.Incident{
		ID: 7, Number: 42, Title: "Checkout fails for card payments",
		Description: "Customers could not pay by card: the checkout page showed an error after \"Pay\" & orders were not placed.",
		Severity:    incident.P1, Status: incident.StatusResolved, Service: "checkout",
		DeclaredBy: Alice, Commander: Alice, Roles: map[string]string{incident.RoleComms: Cara, incident.RoleOps: Dev},
		ChannelID: "C0INC42", ChannelName: "inc-2026-03-14-checkout-fails-for-card-payments",
		Summary:        "We undid the software change that caused the errors; payments work again.",
		DeclaredAt:     t0,
		AcknowledgedAt: ptr(at(22, 0)),
		MitigatedAt:    ptr(at(45, 0)),
		ResolvedAt:     ptr(at(67, 0)),
	}

	ev := func(kind incident.EventKind, actor string, when time.Time, key bool, text string, data incident.EventData) incident.TimelineEvent {
		return incident.TimelineEvent{IncidentID: inc.ID, Kind: kind, Actor: actor, At: when, Key: key, Text: text, Payload: data}
	}
	msg := func(user string, when time.Time, key bool, text string, with ...func(*incident.MessageData)) incident.TimelineEvent {
		ts := fmt.Sprintf("%d.%06d", when.Unix(), when.Nanosecond()/1000)
		data := incident.MessageData{User: user, TS: ts}
		for _, f := range with {
			f(&data)
		}
		e := ev(incident.EventMessage, user, when, key, text, data)
		e.SourceID = ts
		return e
	}
	threadTS := fmt.Sprintf("%d.000000", at(2, 0).Unix())
	inThread := func(d *incident.MessageData) { d.ThreadTS = threadTS }
	edited := func(d *incident.MessageData) { d.Edited = true }
	deleted := func(d *incident.MessageData) { d.Deleted = true }

	timeline := []incident.TimelineEvent{
		ev(incident.EventDeclared, Alice, t0, true, "<@U01ALICE> declared INC-42 (P1): Checkout fails for card payments", nil),
		ev(incident.EventRoleAssigned, Alice, t0, true, "<@U01ALICE> is the Incident Commander", incident.RoleAssignedData{Role: incident.RoleCommander, User: Alice}),
		ev(incident.EventSetup, "bot", at(0, 5), false, "Channel created", nil),
		ev(incident.EventPaged, "bot", at(0, 30), true, ":pager: Paged the on-call and the backup for checkout (PagerDuty).", incident.PagedData{Service: "checkout"}),
		ev(incident.EventProviderFailure, "statuspage", at(0, 40), false, "Statuspage returned HTTP 503; the status page incident will be retried.", nil),
		msg(Alice, at(1, 10), false, "Checkout is returning errors for every card payment. Declaring P1."),
		msg(Dev, at(2, 0), false, "Looking at the checkout dashboards now"),
		msg(Dev, at(2, 40), false, "DB connection pool on checkout-db is at 100% &amp; requests are queueing", inThread),
		msg(Cara, at(3, 0), false, "Status page is up: investigating"),
		// The edit arrives as a second capture of the same message.
		msg(Cara, at(3, 0), false, "Status page posted: \"investigating checkout errors\" <https://status.example.com|status page>", edited),
		ev(incident.EventChangesShown, "bot", at(4, 0), false, "3 changes to checkout in the last hour", incident.ChangesShownData{Changes: 3}),
		msg(Dev, at(5, 0), true, "Deploy 1a2b3c4 at 13:41 added the order-history query; that lines up with the start"),
		msg(Bob, at(6, 0), true, "oops, wrong channel", deleted),
		msg(Dev, at(8, 0), true, "Rolling back checkout to 9f8e7d6 now (pinned by <@U01ALICE>)"),
		ev(incident.EventRollback, Dev, at(9, 0), true, ":rewind: <@U04DEV> started a rollback: Redeploy acme/checkout to production at 9f8e7d6 (from 1a2b3c4).",
			incident.RollbackData{Status: incident.RollbackRunning, Key: "rb-deploy"}),
		ev(incident.EventRollback, "bot", at(12, 20), true, ":white_check_mark: Rollback succeeded: acme/checkout is at 9f8e7d6 in production.",
			incident.RollbackData{Status: incident.RollbackSucceeded, Key: "rb-deploy"}),
		ev(incident.EventRollback, "bot", at(13, 0), false, "Flag rollback failed: LaunchDarkly returned 403.",
			incident.RollbackData{Status: incident.RollbackFailed, Key: "rb-flag"}),
		msg(Dev, at(14, 0), false, "Error rate dropping, pool back to 40%", inThread),
		ev(incident.EventAcknowledged, "pagerduty", at(22, 0), false, "Bob Martin acknowledged the page in PagerDuty.", nil),
		msg(Bob, at(22, 30), false, "Sorry, was on the train. Catching up."),
		ev(incident.EventStatusChanged, Alice, at(45, 0), true, ":large_yellow_circle: <@U01ALICE> marked the incident mitigated.",
			incident.StatusChangedData{From: incident.StatusInvestigating, To: incident.StatusMitigated}),
		ev(incident.EventNote, Cara, at(30, 0), true, "Support confirms customers can pay again.", nil),
		msg(Alice, at(50, 0), false, "Monitors green for 20 minutes; asking Bob for a smoke test"),
		msg(Bob, at(60, 0), false, "Smoke test passed: 5 card orders placed"),
		ev(incident.EventStatusChanged, Alice, at(67, 0), true, ":white_check_mark: <@U01ALICE> resolved the incident after 1h02m.",
			incident.StatusChangedData{From: incident.StatusMitigated, To: incident.StatusResolved}),
	}
	// Ordinary chatter, so the most-active ranking has something to rank.
	for i := 0; i < 6; i++ {
		timeline = append(timeline, msg(Dev, at(15+i, 30), false, fmt.Sprintf("checking pod %d", i+1)))
	}
	for i := 0; i < 3; i++ {
		timeline = append(timeline, msg(Alice, at(35+i, 0), false, "noted"))
	}

	updates := []incident.StatusUpdate{
		{ID: 1, IncidentID: inc.ID, Author: Alice, Status: incident.StatusInvestigating, Text: "Card payments fail at checkout; we are investigating.", PostedAt: at(3, 30)},
		{ID: 2, IncidentID: inc.ID, Author: Alice, Status: incident.StatusInvestigating, Text: "A recent change lines up with the start; rolling it back.", PostedAt: at(10, 0)},
		{ID: 3, IncidentID: inc.ID, Author: Cara, Status: incident.StatusInvestigating, Text: "Payments are recovering.", PostedAt: at(26, 0)},
		{ID: 4, IncidentID: inc.ID, Author: Alice, Status: incident.StatusResolved, Text: "Resolved; monitoring.", PostedAt: at(67, 0)},
	}

	due := time.Date(2026, time.March, 21, 0, 0, 0, 0, time.UTC)
	items := []incident.ActionItem{
		{ID: 1, IncidentID: inc.ID, Text: "Add an index on orders.customer_id", Owner: Dev, DueOn: &due, CreatedBy: Alice, CreatedAt: at(40, 0)},
		{ID: 2, IncidentID: inc.ID, Text: "Alert when checkout-db pool use exceeds 80% | page the on-call", CreatedBy: Alice, CreatedAt: at(41, 0)},
		{ID: 3, IncidentID: inc.ID, Text: "Run query performance tests in CI for <@U04DEV>'s service", Owner: Bob, CreatedBy: Cara, CreatedAt: at(42, 0)},
	}

	changes := []incident.ChangeEvent{
		{ID: 1, Source: "github", ExternalID: "dep-1", Kind: incident.ChangeDeploy, Service: "checkout", Environment: "production",
			Summary: "Add order history to checkout", Actor: "dpatel", Ref: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d",
			URL: "https://github.com/acme/checkout/deployments/1", OccurredAt: time.Date(2026, time.March, 14, 13, 41, 0, 0, time.UTC)},
		{ID: 2, Source: "launchdarkly", ExternalID: "flag-9", Kind: incident.ChangeFlag, Service: "checkout", Environment: "production",
			Summary: "Bob Martin turned on new-payment-form for 10%", Actor: "bmartin", Ref: "new-payment-form",
			OccurredAt: time.Date(2026, time.March, 14, 13, 20, 0, 0, time.UTC)},
		// Outside the hour before the start: not a candidate.
		{ID: 3, Source: "github", ExternalID: "dep-0", Kind: incident.ChangeDeploy, Service: "checkout", Environment: "production",
			Summary: "Bump logging library", Ref: "0f0f0f0", OccurredAt: time.Date(2026, time.March, 14, 11, 0, 0, 0, time.UTC)},
	}

	pages := []incident.Page{
		{ID: 1, IncidentID: inc.ID, Provider: "pagerduty", ExternalID: "PD1", DedupKey: "inc-42-primary", Service: "checkout",
			Status: "acknowledged", Assignees: []string{"Bob Martin"}, CreatedAt: at(0, 30),
			AcknowledgedAt: ptr(at(22, 0)), AcknowledgedBy: "Bob Martin"},
		{ID: 2, IncidentID: inc.ID, Provider: "pagerduty", ExternalID: "PD2", DedupKey: "inc-42-backup", Service: "checkout",
			Status: "triggered", Assignees: []string{"Erin Ortiz"}, CreatedAt: at(0, 30)},
	}

	rollbacks := []incident.Rollback{
		{ID: 1, IncidentID: inc.ID, Key: "rb-deploy", Status: incident.RollbackSucceeded, RequestedBy: Dev, ApprovedBy: Alice,
			Plan:      incident.RollbackPlan{Key: "rb-deploy", Kind: incident.ChangeDeploy, Description: "Redeploy acme/checkout to production at 9f8e7d6 (from 1a2b3c4)."},
			CreatedAt: at(9, 0), UpdatedAt: at(12, 20)},
		{ID: 2, IncidentID: inc.ID, Key: "rb-flag", Status: incident.RollbackFailed, RequestedBy: Dev,
			Plan:   incident.RollbackPlan{Key: "rb-flag", Kind: incident.ChangeFlag, Description: "Turn off new-payment-form in production."},
			Detail: "LaunchDarkly returned 403", CreatedAt: at(12, 40), UpdatedAt: at(13, 0)},
	}

	policy := incident.DefaultPolicy()
	policy.Services["checkout"] = incident.ServicePolicy{Key: "checkout", Name: "Checkout"}

	return postmortem.Input{
		Incident: inc, Timeline: timeline, Updates: updates, ActionItems: items, Changes: changes,
		Pages: pages, Rollbacks: rollbacks, Policy: policy,
		Now:       time.Date(2026, time.March, 16, 9, 0, 0, 0, time.UTC),
		UserNames: Names(),
	}
}

// Busy returns the replay with n more captured messages from twenty people,
// spread over the incident: every 50th pinned, every 97th edited (a second
// capture), every 101st deleted and every 7th in a thread. It is the
// benchmark's input.
func Busy(n int) postmortem.Input {
	in := Replay()
	t0 := Declared()
	names := Names()
	users := make([]string, 20)
	for i := range users {
		users[i] = fmt.Sprintf("U1%04d", i)
		names[users[i]] = fmt.Sprintf("Responder %02d", i)
	}
	in.UserNames = names
	timeline := make([]incident.TimelineEvent, 0, len(in.Timeline)+n+n/97+1)
	timeline = append(timeline, in.Timeline...)
	step := 67 * time.Minute / time.Duration(n+1)
	for i := 0; i < n; i++ {
		when := t0.Add(time.Duration(i+1) * step)
		ts := fmt.Sprintf("%d.%06d", when.Unix(), i)
		data := incident.MessageData{User: users[i%len(users)], TS: ts}
		if i%7 == 0 {
			data.ThreadTS = fmt.Sprintf("%d.000000", t0.Unix())
		}
		if i%101 == 0 {
			data.Deleted = true
		}
		e := incident.TimelineEvent{IncidentID: in.Incident.ID, Kind: incident.EventMessage, Actor: users[i%len(users)],
			At: when, Key: i%50 == 0, Text: fmt.Sprintf("message %d from <@%s>: looking at <https://grafana.example.com/d/%d|panel %d>", i, users[(i+1)%len(users)], i, i),
			SourceID: ts, Payload: data}
		timeline = append(timeline, e)
		if i%97 == 0 {
			edit := e
			edit.Text += " (edited)"
			edit.Payload = incident.MessageData{User: data.User, TS: ts, Edited: true}
			timeline = append(timeline, edit)
		}
	}
	in.Timeline = timeline
	return in
}
