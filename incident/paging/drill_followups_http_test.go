package paging_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// A drill pages the drills' test service (drills.pagerduty.routing_key),
// and everything that follows the page goes there too: the people
// invited are the test service's on-call, an acknowledgement from Slack
// and the resolution are sent with the test routing key, and the drill's
// PagerDuty incident ends resolved. Production's on-call never hears of
// it.
func TestDrillPageIsFollowedUpOnTheTestService(t *testing.T) {
	t.Parallel()
	b, fake, _ := drillPagerDuty(t)
	ctx := context.Background()
	inc, _, err := b.svc.Declare(ctx, incident.DeclareInput{Title: "drill", Severity: incident.P2, ServiceKey: "checkout",
		DeclaredBy: "U0DECL", Drill: true, ReplyTo: incident.ReplyTarget{UserID: "U0DECL"}})
	require.NoError(t, err)
	b.queue.RunAll(t)
	inc, err = b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, fake.Incidents(), 1)
	require.Equal(t, "PTEST", fake.Incidents()[0].ServiceID, "the drill pages the test service")
	require.Contains(t, b.chat.Members[inc.ChannelID], "U0TESS", "the test service's on-call is invited")
	require.NotContains(t, b.chat.Members[inc.ChannelID], "U0RITA", "production's on-call is not pulled into a drill")

	pages, err := b.store.ListPages(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, pages, 1)
	// Tess (tess@example.com in Slack and in PagerDuty) acknowledges.
	require.NoError(t, b.pg.AcknowledgePage(ctx, pages[0].DedupKey, "U0TESS", incident.ReplyTarget{UserID: "U0TESS"}))
	b.queue.RunAll(t)
	require.Equal(t, "acknowledged", fake.Incidents()[0].Status, "acknowledged with the test routing key")

	_, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "")
	require.NoError(t, err)
	b.queue.RunAll(t)
	var sent []string
	for _, e := range fake.Events() {
		require.Equal(t, pdfake.RoutingKey("test"), e.RoutingKey, "%s sent with production's routing key", e.Action)
		sent = append(sent, e.Action)
	}
	require.True(t, slices.Contains(sent, "resolve"), "sent: %v", sent)
	require.Equal(t, "resolved", fake.Incidents()[0].Status, "the drill's PagerDuty incident is resolved")
}

// drillPagerDuty is a bundle whose PagerDuty has production's Checkout
// service (on call: Rita) and the drills' test service (on call: Tess),
// checkout paged with production's routing key and drills with the test
// one. b stays the bundle the client reads its policy from, also after a
// restart stores another bundle in it.
func drillPagerDuty(t *testing.T) (*bundle, *pdfake.Server, *pagerduty.Client) {
	t.Helper()
	b := &bundle{}
	fake := pdfake.New(pdfake.WithClock(func() time.Time { return b.clock.Now() }))
	t.Cleanup(fake.Close)
	fake.AddService(pdfake.Service{ID: "PPROD", Name: "Checkout", EscalationPolicyID: "PEPPROD", RoutingKey: pdfake.RoutingKey("prod")})
	fake.AddService(pdfake.Service{ID: "PTEST", Name: "Drill test", EscalationPolicyID: "PEPTEST", RoutingKey: pdfake.RoutingKey("test")})
	fake.AddUser(pdfake.User{ID: "PUBOT", Name: "firebreak", Email: "bot@example.com"})
	fake.AddUser(pdfake.User{ID: "PURITA", Name: "Rita", Email: "rita@example.com"})
	fake.AddUser(pdfake.User{ID: "PUTESS", Name: "Tess", Email: "tess@example.com"})
	fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEPPROD", Level: 1, UserID: "PURITA", Schedule: "Primary"})
	fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEPTEST", Level: 1, UserID: "PUTESS", Schedule: "Drill"})
	client := pagerduty.New(pagerduty.Config{APIURL: fake.URL(), EventsURL: fake.EventsURL(), Token: fake.Token(), FromEmail: "bot@example.com",
		Clock: incident.ClockFunc(func() time.Time { return b.clock.Now() }),
		Services: func(key string) (incident.ServicePolicy, bool) {
			s, ok := b.svc.Policy().Services[key]
			return s, ok
		}})
	*b = setupOn(t, storeMemory, client, func(p *incident.Policy) {
		svc := p.Services["checkout"]
		svc.PagerDuty = incident.PagerDutyService{RoutingKey: pdfake.RoutingKey("prod"), EscalationPolicy: "PEPPROD"}
		p.Services["checkout"] = svc
		p.Drills.PagerDuty = incident.PagerDutyService{RoutingKey: pdfake.RoutingKey("test"), EscalationPolicy: "PEPTEST"}
	})
	b.chat.Users["tess@example.com"] = []string{"U0TESS"}
	b.chat.Users["rita@example.com"] = []string{"U0RITA"}
	return b, fake, client
}
