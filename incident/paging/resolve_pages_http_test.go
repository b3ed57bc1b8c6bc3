package paging_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// twoServices is paging through the real PagerDuty client against pdfake
// for Checkout (REST API, by service id) and Payments, whose page went out
// with an Events API routing key the client no longer has: its page cannot
// be resolved from the bot, for good.
func twoServices(t *testing.T) (bundle, *pdfake.Server) {
	t.Helper()
	var b bundle
	fake := pdfake.New(pdfake.WithClock(func() time.Time { return b.clock.Now() }))
	t.Cleanup(fake.Close)
	fake.AddService(pdfake.Service{ID: "PSVC1", Name: "Checkout", EscalationPolicyID: "PEP1"})
	fake.AddService(pdfake.Service{ID: "PSVC2", Name: "Payments", EscalationPolicyID: "PEP1", RoutingKey: pdfake.RoutingKey("payments")})
	fake.AddUser(pdfake.User{ID: "PUBOT", Name: "firebreak", Email: "bot@example.com"})
	fake.AddUser(pdfake.User{ID: "PUBOB", Name: "Bob Roe", Email: "bob@example.com"})
	fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 1, UserID: "PUBOB", Schedule: "Primary"})
	client := pagerduty.New(pagerduty.Config{APIURL: fake.URL(), EventsURL: fake.EventsURL(), Token: fake.Token(), FromEmail: "bot@example.com",
		Clock: incident.ClockFunc(func() time.Time { return b.clock.Now() })})
	b = setupOn(t, storeMemory, client, func(p *incident.Policy) {
		svc := p.Services["checkout"]
		svc.PagerDuty = incident.PagerDutyService{ServiceID: "PSVC1"}
		p.Services["checkout"] = svc
		p.Services["payments"] = incident.ServicePolicy{Key: "payments", Name: "Payments",
			PagerDuty: incident.PagerDutyService{RoutingKey: pdfake.RoutingKey("payments")}}
	})
	return b, fake
}

// declarePayments declares a P2 of Payments, pages Payments and then
// Checkout, and returns it with its channel.
func declarePayments(t *testing.T, b bundle) *incident.Incident {
	t.Helper()
	ctx := context.Background()
	inc, _, err := b.svc.Declare(ctx, incident.DeclareInput{Title: "payments failing", Severity: incident.P2, ServiceKey: "payments",
		DeclaredBy: "U0DECL", ReplyTo: incident.ReplyTarget{UserID: "U0DECL"}})
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	b.clock.Advance(time.Minute)
	_, err = b.pg.Page(ctx, inc.ID, "checkout", "U0DECL")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	inc, err = b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	pages, err := b.store.ListPages(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, pages, 2)
	require.Equal(t, "payments", pages[0].Service, "the page that cannot be resolved comes first")
	return inc
}

// TestOnePageThatCannotBeResolvedDoesNotKeepTheOthersOpen: resolving the
// incident resolves every page it can, whatever became of the others; a
// page the provider refuses to resolve for good is not tried again, and
// the channel says it stays open there.
func TestOnePageThatCannotBeResolvedDoesNotKeepTheOthersOpen(t *testing.T) {
	t.Parallel()
	b, fake := twoServices(t)
	ctx := context.Background()
	inc := declarePayments(t, b)

	_, err := b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t), "nothing to retry")
	for _, i := range fake.Incidents() {
		if i.ServiceID == "PSVC1" {
			require.Equal(t, "resolved", i.Status, "Checkout's page is resolved")
		}
	}
	failed := postsContaining(b.chat, inc.ChannelID, "Resolving the page for Payments in PagerDuty failed")
	require.Len(t, failed, 1, "%q", b.chat.Posts[inc.ChannelID])
	require.Contains(t, failed[0], "routing_key that is no longer configured")
	require.Contains(t, failed[0], "resolve it in PagerDuty")
	resolves := 0
	for _, c := range fake.Calls() {
		if c.Method == "PUT" {
			resolves++
		}
	}
	require.Equal(t, 1, resolves, "Checkout's page resolved once; Payments' not asked of PagerDuty again")
}

// TestPagesPagerDutyCannotResolveForNowAreSaidAtTheLastAttempt: while
// PagerDuty does not answer, the resolution is retried; at its last
// attempt the channel is told which pages stay open.
func TestPagesPagerDutyCannotResolveForNowAreSaidAtTheLastAttempt(t *testing.T) {
	t.Parallel()
	b, fake := pdEchoSetup(t, pdfake.WebhooksAfterAnswer)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P2)
	require.Empty(t, b.queue.RunAll(t))
	require.NoError(t, fake.WaitWebhooks(ctx))
	b.queue.RunAll(t)

	fake.SetDown(true)
	_, err := b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "")
	require.NoError(t, err)
	b.queue.RunAll(t)
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "Resolving the page for Checkout in PagerDuty failed"), 1, "%q", b.chat.Posts[inc.ChannelID])
	require.Equal(t, "triggered", pageStatus(t, b))
}
