package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

func alertPolicy(p *incident.Policy) {
	svc := p.Services["checkout"]
	svc.Channel = "#checkout"
	p.Services["checkout"] = svc
	p.AlertRules = []incident.AlertRule{
		{Name: "checkout-errors", Match: map[string]string{"alertname": "HighErrorRate", "service": "checkout"}, Service: "checkout", Severity: incident.P1},
		{Name: "checkout-down", Match: map[string]string{"alertname": "CheckoutDown"}, Service: "checkout", Severity: incident.P1, Auto: true},
	}
}

func firing(fp, name string) incident.AlertEvent {
	return incident.AlertEvent{Source: "alertmanager", Fingerprint: fp, Status: incident.AlertFiring, Title: name + ": 5xx above 5%",
		Summary: "checkout returns 503s", URL: "http://prometheus:9090/graph?g0.expr=rate", Labels: map[string]string{"alertname": name, "service": "checkout"}}
}

func postsContaining(c *incidenttest.Chat, ch, sub string) []string {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	var out []string
	for _, p := range c.Posts[ch] {
		if strings.Contains(p, sub) {
			out = append(out, p)
		}
	}
	return out
}

func TestAlertProposesThenDeclaresOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, alertPolicy)
	ctx := context.Background()

	require.NoError(t, b.alrt.HandleAlert(ctx, firing("fp1", "HighErrorRate")))
	require.NoError(t, b.alrt.HandleAlert(ctx, firing("fp1", "HighErrorRate")), "a redelivery")
	require.Empty(t, b.queue.RunAll(t))
	proposals := postsContaining(b.chat, "#checkout", "Declare P1 from this alert?")
	require.Len(t, proposals, 1, "one proposal however often it is delivered")
	require.Contains(t, proposals[0], "[Declare P1:alert_declare=")
	require.Contains(t, proposals[0], "[Not an incident:alert_dismiss=")
	a, err := b.store.FindAlert(ctx, "alertmanager", "fp1")
	require.NoError(t, err)
	require.Equal(t, incident.AlertProposed, a.State)
	require.Equal(t, 2, a.Count)
	require.Equal(t, "#checkout", a.ChannelID)

	inc, err := b.alrt.DeclareFromAlert(ctx, a.ID, "U0ALICE", incident.ReplyTarget{UserID: "U0ALICE"})
	require.NoError(t, err)
	again, err := b.alrt.DeclareFromAlert(ctx, a.ID, "U0ALICE", incident.ReplyTarget{UserID: "U0ALICE"})
	require.NoError(t, err)
	require.Equal(t, inc.ID, again.ID, "a double click declares once")
	again, err = b.alrt.DeclareFromAlert(ctx, a.ID, "U0BOB", incident.ReplyTarget{UserID: "U0BOB"})
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "someone else's click is told who declared")
	require.Equal(t, inc.ID, again.ID)
	a, err = b.store.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, "U0ALICE", a.DecidedBy)
	require.Equal(t, incident.P1, inc.Severity)
	require.Equal(t, "checkout", inc.Service)
	require.Equal(t, "U0ALICE", inc.Commander)
	require.Empty(t, b.queue.RunAll(t))
	_, err = b.alrt.DismissAlert(ctx, a.ID, "U0BOB")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))

	inc, err = b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "Started by the alert"), 1)

	// A repeat of the firing alert goes on the timeline.
	require.NoError(t, b.alrt.HandleAlert(ctx, firing("fp1", "HighErrorRate")))
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "fired again (3 times so far)"), 1)
	events, err := b.store.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	alerts := 0
	for _, ev := range events {
		if ev.Kind == incident.EventAlert {
			alerts++
		}
	}
	require.Equal(t, 2, alerts, "the start and the repeat")

	// Its resolution is said once in the incident channel.
	resolved := firing("fp1", "HighErrorRate")
	resolved.Status = incident.AlertResolved
	require.NoError(t, b.alrt.HandleAlert(ctx, resolved))
	require.NoError(t, b.alrt.HandleAlert(ctx, resolved))
	require.Empty(t, b.queue.RunAll(t))
	lines := postsContaining(b.chat, inc.ChannelID, "The alert that started this has resolved")
	require.Len(t, lines, 1)
	require.Contains(t, lines[0], "Confirm with data")

	// It fires again while the incident is open: the channel hears it.
	require.NoError(t, b.alrt.HandleAlert(ctx, firing("fp1", "HighErrorRate")))
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "that started this is firing again"), 1)
}

func TestAlertRulesAutoDismissAndIgnore(t *testing.T) {
	t.Parallel()
	b := setup(t, alertPolicy)
	ctx := context.Background()

	// No rule matches: nothing happens.
	require.NoError(t, b.alrt.HandleAlert(ctx, firing("fp0", "DiskAlmostFull")))
	_, err := b.store.FindAlert(ctx, "alertmanager", "fp0")
	require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(err))

	// auto: declared at once, with no IC until someone claims it.
	require.NoError(t, b.alrt.HandleAlert(ctx, firing("fp2", "CheckoutDown")))
	require.Empty(t, b.queue.RunAll(t))
	a, err := b.store.FindAlert(ctx, "alertmanager", "fp2")
	require.NoError(t, err)
	require.Equal(t, incident.AlertDeclared, a.State)
	inc, err := b.store.GetIncident(ctx, a.IncidentID)
	require.NoError(t, err)
	require.Empty(t, inc.Commander)
	require.Equal(t, "bot", inc.DeclaredBy)
	require.Empty(t, postsContaining(b.chat, "#checkout", "from this alert?"), "auto rules do not ask")

	// Not an incident; a resolution and a new firing ask again.
	require.NoError(t, b.alrt.HandleAlert(ctx, firing("fp3", "HighErrorRate")))
	require.Empty(t, b.queue.RunAll(t))
	a, err = b.store.FindAlert(ctx, "alertmanager", "fp3")
	require.NoError(t, err)
	_, err = b.alrt.DismissAlert(ctx, a.ID, "U0BOB")
	require.NoError(t, err)
	_, err = b.alrt.DeclareFromAlert(ctx, a.ID, "U0ALICE", incident.ReplyTarget{})
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	require.NoError(t, b.alrt.HandleAlert(ctx, firing("fp3", "HighErrorRate")), "still the same episode")
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, postsContaining(b.chat, "#checkout", "Declare P1 from this alert?"), 1)
	resolved := firing("fp3", "HighErrorRate")
	resolved.Status = incident.AlertResolved
	require.NoError(t, b.alrt.HandleAlert(ctx, resolved))
	b.clock.Advance(20 * time.Minute)
	require.NoError(t, b.alrt.HandleAlert(ctx, firing("fp3", "HighErrorRate")))
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, postsContaining(b.chat, "#checkout", "Declare P1 from this alert?"), 2, "a new episode is proposed again")

	require.Equal(t, incident.EINVALID, incident.ErrorCode(b.alrt.HandleAlert(ctx, incident.AlertEvent{Source: "alertmanager"})))
}

func TestAddBusinessDays(t *testing.T) {
	t.Parallel()
	fri := time.Date(2026, 8, 7, 0, 0, 0, 0, time.UTC)
	require.Equal(t, time.Date(2026, 8, 14, 0, 0, 0, 0, time.UTC), incident.AddBusinessDays(fri, 5))
	require.Equal(t, time.Date(2026, 8, 12, 0, 0, 0, 0, time.UTC), incident.AddBusinessDays(fri, 3))
	sat := time.Date(2026, 8, 8, 0, 0, 0, 0, time.UTC)
	require.Equal(t, time.Date(2026, 8, 10, 0, 0, 0, 0, time.UTC), incident.AddBusinessDays(sat, 1))
	// The date is the local one: 23:30 UTC on Friday is Saturday in Tokyo.
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	require.NoError(t, err)
	require.Equal(t, sat, incident.Day(time.Date(2026, 8, 7, 23, 30, 0, 0, time.UTC), tokyo))
}

func TestResolutionConfirmedWithData(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) { p.ConfirmResolution = map[incident.Severity]bool{incident.P1: true} })
	ctx := context.Background()
	inc := declare(t, b, "checkout is down", incident.P1, "")
	require.Empty(t, b.queue.RunAll(t))

	_, err := b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "")
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "confirm the resolution with data")
	_, err = b.svc.Resolve(ctx, inc.ID, "U0DECL", "", incident.ResolutionCheck{MonitorsGreen: true, ErrorRateBaseline: true})
	require.Contains(t, incident.ErrorMessage(err), "a smoke test by someone not in the fix")
	_, err = b.svc.Resolve(ctx, inc.ID, "U0DECL", "", incident.ResolutionCheck{MonitorsGreen: true, ErrorRateBaseline: true, SmokeTested: true, SmokeTester: "U0DECL"})
	require.Contains(t, incident.ErrorMessage(err), "not involved in the fix")

	_, err = b.svc.Resolve(ctx, inc.ID, "U0DECL", "rolled back the deploy",
		incident.ResolutionCheck{MonitorsGreen: true, ErrorRateBaseline: true, SmokeTested: true, SmokeTester: "U0BOB", Notes: "p99 back to 180 ms"})
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	events, err := b.store.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	var check *incident.TimelineEvent
	for i := range events {
		if events[i].Kind == incident.EventResolutionCheck {
			check = &events[i]
		}
	}
	require.NotNil(t, check)
	data, ok := check.Payload.(incident.ResolutionCheckData)
	require.True(t, ok)
	require.Equal(t, "U0BOB", data.SmokeTester)
	require.Equal(t, "p99 back to 180 ms", data.Notes)
	require.Len(t, postsContaining(b.chat, "C001", "Resolution confirmed by"), 1)

	// P3 is not in the policy's list: the plain resolve still works.
	p3 := declare(t, b, "typo on the about page", incident.P3, "")
	require.Empty(t, b.queue.RunAll(t))
	_, err = b.svc.SetStatus(ctx, p3.ID, incident.StatusResolved, "U0DECL", "")
	require.NoError(t, err)
}

// A P1 lowered to P3 still needs the P1's checklist to be resolved; the
// panel's Resolve form asks for it.
func TestResolutionChecklistKeptAfterLoweringTheSeverity(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) { p.ConfirmResolution = map[incident.Severity]bool{incident.P1: true} })
	ctx := context.Background()
	inc := declare(t, b, "checkout is down", incident.P1, "")
	require.Empty(t, b.queue.RunAll(t))
	lowered, err := b.svc.SetSeverity(ctx, inc.ID, incident.P3, "U0DECL")
	require.NoError(t, err)
	require.Equal(t, incident.P3, lowered.Severity)
	stored, err := b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.P1, stored.MostSevere(), "the store keeps the most severe it has been")

	_, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "")
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
	require.Equal(t, "The policy asks P1 incidents to confirm the resolution with data ("+inc.Key()+" was P1 before it was lowered): use the Resolve button on the control panel and answer the checklist.", incident.ErrorMessage(err))

	// Raised to P2 and lowered again: still P1's bar.
	_, err = b.svc.SetSeverity(ctx, inc.ID, incident.P2, "U0DECL")
	require.NoError(t, err)
	_, err = b.svc.SetSeverity(ctx, inc.ID, incident.P4, "U0DECL")
	require.NoError(t, err)
	_, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "")
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))

	_, err = b.svc.Resolve(ctx, inc.ID, "U0DECL", "rolled back the deploy",
		incident.ResolutionCheck{MonitorsGreen: true, ErrorRateBaseline: true, SmokeTested: true, SmokeTester: "U0BOB"})
	require.NoError(t, err)
}

func TestPagerDutyAlertOnAMappedService(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) {
		svc := p.Services["checkout"]
		svc.PagerDuty.ServiceID, svc.Channel = "PCHK", "#checkout"
		p.Services["checkout"] = svc
	})
	ctx := context.Background()
	ev := incident.AlertEvent{Source: "pagerduty", Fingerprint: "Q1", Title: "checkout p99 above 2s",
		Labels: map[string]string{"pagerduty_service": "PCHK", "urgency": "high"}}
	require.NoError(t, b.alrt.HandleAlert(ctx, ev))
	other := incident.AlertEvent{Source: "pagerduty", Fingerprint: "Q2", Title: "billing", Labels: map[string]string{"pagerduty_service": "PBILL", "urgency": "high"}}
	require.NoError(t, b.alrt.HandleAlert(ctx, other))
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, postsContaining(b.chat, "#checkout", "Declare P2 from this alert?* checkout p99 above 2s (PagerDuty)"), 1)
	_, err := b.store.FindAlert(ctx, "pagerduty", "Q2")
	require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(err), "a service the policy does not map is not an alert")
}

// TestOnlyDeclarersDecideAboutAlerts: with declaring limited to named
// people, only they declare from an alert; judging a P1 alert not an
// incident is its service's people's and the commander group's call (Bob,
// a responder of checkout, may though he may not declare), and nobody
// else's.
func TestOnlyDeclarersDecideAboutAlerts(t *testing.T) {
	t.Parallel()
	b := setup(t, alertPolicy, func(p *incident.Policy) { p.Declarers = []string{"U0ALICE"} })
	ctx := context.Background()
	require.NoError(t, b.alrt.HandleAlert(ctx, firing("fp1", "HighErrorRate")))
	require.Empty(t, b.queue.RunAll(t))
	a, err := b.store.FindAlert(ctx, "alertmanager", "fp1")
	require.NoError(t, err)

	_, err = b.alrt.DeclareFromAlert(ctx, a.ID, "U0BOB", incident.ReplyTarget{})
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	_, err = b.alrt.DismissAlert(ctx, a.ID, "U0ERIN")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	a, err = b.store.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, incident.AlertProposed, a.State, "nothing changed")

	_, err = b.alrt.DismissAlert(ctx, a.ID, "U0BOB")
	require.NoError(t, err, "a responder of checkout judges its P1 alert")

	// The policy's auto rules declare as the bot, whoever may declare.
	require.NoError(t, b.alrt.HandleAlert(ctx, firing("fp2", "CheckoutDown")))
	a, err = b.store.FindAlert(ctx, "alertmanager", "fp2")
	require.NoError(t, err)
	require.Equal(t, incident.AlertDeclared, a.State)
}
