package paging_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// These tests page through the real PagerDuty client against pdfake,
// which sends PagerDuty's signed v3 webhook for every change the bot makes
// through the REST API, to the real webhook handler: the echo comes back
// over HTTP.

const echoSecret = "whsec-echo"

func pdEchoSetup(t *testing.T, when pdfake.WebhookTiming) (bundle, *pdfake.Server) {
	t.Helper()
	return pdEchoSetupOn(t, storeMemory, when)
}

// pdEchoSetupOn is pdEchoSetup over the named store.
func pdEchoSetupOn(t *testing.T, kind storeKind, when pdfake.WebhookTiming) (bundle, *pdfake.Server) {
	t.Helper()
	return pdSkewedSetupOn(t, kind, when, 0)
}

// pdSkewedSetupOn is pdEchoSetupOn with PagerDuty's clock skew ahead of the
// bot's (behind when negative).
func pdSkewedSetupOn(t *testing.T, kind storeKind, when pdfake.WebhookTiming, skew time.Duration) (bundle, *pdfake.Server) {
	t.Helper()
	var b bundle
	fake := pdfake.New(pdfake.WithClock(func() time.Time { return b.clock.Now().Add(skew) }))
	t.Cleanup(fake.Close)
	fake.AddService(pdfake.Service{ID: "PSVC1", Name: "Checkout", EscalationPolicyID: "PEP1"})
	fake.AddUser(pdfake.User{ID: "PUBOT", Name: "firebreak", Email: "bot@example.com"})
	fake.AddUser(pdfake.User{ID: "PUKIM", Name: "Kim Lee", Email: "kim@example.com"})
	fake.AddUser(pdfake.User{ID: "PUBOB", Name: "Bob Roe", Email: "bob@example.com"})
	fake.AddUser(pdfake.User{ID: "PUCAROL", Name: "Carol Poe", Email: "carol@example.com"})
	fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 1, UserID: "PUBOB", Schedule: "Primary"})
	fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 2, UserID: "PUCAROL", Schedule: "Secondary"})
	client := pagerduty.New(pagerduty.Config{APIURL: fake.URL(), EventsURL: fake.EventsURL(), Token: fake.Token(), FromEmail: "bot@example.com"})
	b = setupOn(t, kind, client, func(p *incident.Policy) {
		svc := p.Services["checkout"]
		svc.PagerDuty = incident.PagerDutyService{ServiceID: "PSVC1"}
		p.Services["checkout"] = svc
	})
	hooks := httptest.NewServer(pagerduty.NewWebhookHandler([]string{echoSecret}, b.pg.HandlePageEvent, nil))
	t.Cleanup(hooks.Close)
	fake.SetWebhooks(pdfake.Webhooks{URL: hooks.URL + "/webhooks/pagerduty", Secret: echoSecret, When: when})
	return b, fake
}

// deliveredOK checks that PagerDuty's deliveries so far were accepted and
// returns their event types.
func deliveredOK(t *testing.T, fake *pdfake.Server) []string {
	t.Helper()
	var types []string
	for _, d := range fake.WebhookDeliveries() {
		require.NoError(t, d.Err)
		require.True(t, d.Status >= 200 && d.Status < 300, "%s accepted: %d", d.EventType, d.Status)
		types = append(types, d.EventType)
	}
	return types
}

func TestBotChangesEchoedByPagerDutyOverHTTPAreSaidOnce(t *testing.T) {
	t.Parallel()
	b, fake := pdEchoSetup(t, pdfake.WebhooksHeld)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P2)
	fake.DeliverWebhooks(ctx)
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "Paged *Checkout* in PagerDuty: Bob Roe."), 1)

	// Nobody acknowledges within the hour: the bot escalates to Carol,
	// and PagerDuty reports the escalation.
	advance(t, b, 61*time.Minute)
	fake.DeliverWebhooks(ctx)
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "so I escalated it in PagerDuty to the next level, now paging Carol Poe"), 1, "%q", b.chat.Posts[inc.ChannelID])
	require.Empty(t, postsContaining(b.chat, inc.ChannelID, "PagerDuty escalated the page"), "the echo is not said again")

	// Kim acknowledges from Slack; PagerDuty reports it as Kim's.
	require.NoError(t, b.pg.AcknowledgePage(ctx, pageKey, "U0KIM", incident.ReplyTarget{UserID: "U0KIM"}))
	require.Empty(t, b.queue.RunAll(t))
	fake.DeliverWebhooks(ctx)
	require.Empty(t, b.queue.RunAll(t))
	lines, events := countAcks(t, b, inc)
	require.Len(t, lines, 1, "%q", lines)
	require.Contains(t, lines[0], "Acknowledged by <@U0KIM>")
	require.Equal(t, 1, events)

	// The incident is resolved; the bot resolves the page, and PagerDuty
	// reports it.
	_, err := b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	fake.DeliverWebhooks(ctx)
	require.Empty(t, b.queue.RunAll(t))
	require.Empty(t, postsContaining(b.chat, inc.ChannelID, "resolved in PagerDuty"))
	require.Equal(t, "resolved", pageStatus(t, b))

	require.Equal(t, []string{"incident.triggered", "incident.escalated", "incident.acknowledged", "incident.resolved"}, deliveredOK(t, fake),
		"the echoes really came back")
}

func TestPagerDutyEchoOverHTTPBeforeTheBotRecordsIsSaidOnce(t *testing.T) {
	t.Parallel()
	b, fake := pdEchoSetup(t, pdfake.WebhooksBeforeAnswer)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P2)
	require.Empty(t, b.queue.RunAll(t))

	// PagerDuty's report of Kim's acknowledgement arrives before the bot
	// has recorded it.
	require.NoError(t, b.pg.AcknowledgePage(ctx, pageKey, "U0KIM", incident.ReplyTarget{UserID: "U0KIM"}))
	require.Empty(t, b.queue.RunAll(t))
	lines, events := countAcks(t, b, inc)
	require.Len(t, lines, 1, "%q", lines)
	require.Contains(t, lines[0], "Acknowledged by Kim Lee in PagerDuty")
	require.Equal(t, 1, events)

	_, err := b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	require.Empty(t, postsContaining(b.chat, inc.ChannelID, "resolved in PagerDuty"))
	require.Equal(t, "resolved", pageStatus(t, b))
	require.Equal(t, []string{"incident.triggered", "incident.acknowledged", "incident.resolved"}, deliveredOK(t, fake))
}

func TestBackupPageReassignEchoOverHTTPIsNotSaid(t *testing.T) {
	t.Parallel()
	b, fake := pdEchoSetup(t, pdfake.WebhooksHeld)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1) // pages the on-call and the backup
	require.Empty(t, b.queue.RunAll(t))
	fake.DeliverWebhooks(ctx)
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "Paged *Checkout* in PagerDuty: Bob Roe, Carol Poe (and the backup)."), 1)
	require.Empty(t, postsContaining(b.chat, inc.ChannelID, "reassigned the page"))
	require.Equal(t, []string{"incident.triggered", "incident.reassigned"}, deliveredOK(t, fake))
}

// TestRaiseToP1BackupReassignEchoOverHTTPIsNotSaid: raising a P2 to P1 adds
// the backup to the page already open; PagerDuty's report of that
// reassignment is the bot's own change, said once as the backup page.
func TestRaiseToP1BackupReassignEchoOverHTTPIsNotSaid(t *testing.T) {
	t.Parallel()
	b, fake := pdEchoSetup(t, pdfake.WebhooksHeld)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P2) // pages the on-call only
	require.Empty(t, b.queue.RunAll(t))
	fake.DeliverWebhooks(ctx)
	require.Empty(t, b.queue.RunAll(t))
	_, err := b.svc.SetSeverity(ctx, inc.ID, incident.P1, "U0DECL")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	fake.DeliverWebhooks(ctx)
	require.Empty(t, b.queue.RunAll(t))
	require.Contains(t, deliveredOK(t, fake), "incident.reassigned")
	require.Empty(t, postsContaining(b.chat, inc.ChannelID, "reassigned the page"))
	pages, err := b.store.ListPages(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, pages, 1)
	require.Len(t, pages[0].Assignees, 2, "%v", pages[0].Assignees)
}
