package paging_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// backupSetup is a Checkout paged through PagerDuty (the fake): with a
// routing key, or with the REST API, with levels people on call.
func backupSetup(t *testing.T, routingKey bool, levels int) (bundle, *pdfake.Server) {
	t.Helper()
	var b bundle
	fake := pdfake.New(pdfake.WithClock(func() time.Time { return b.clock.Now() }))
	t.Cleanup(fake.Close)
	fake.AddService(pdfake.Service{ID: "PSVC1", Name: "Checkout", EscalationPolicyID: "PEP1", RoutingKey: pdfake.RoutingKey("checkout")})
	fake.AddUser(pdfake.User{ID: "PUBOT", Name: "firebreak", Email: "bot@example.com"})
	fake.AddUser(pdfake.User{ID: "PUL1", Name: "Lev One", Email: "l1@example.com"})
	fake.AddUser(pdfake.User{ID: "PUL2", Name: "Lev Two", Email: "l2@example.com"})
	fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 1, UserID: "PUL1"})
	if levels > 1 {
		fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 2, UserID: "PUL2"})
	}
	cfg := pagerduty.Config{APIURL: fake.URL(), EventsURL: fake.EventsURL(), Token: fake.Token(), FromEmail: "bot@example.com",
		Clock: incident.ClockFunc(func() time.Time { return b.clock.Now() })}
	pd := incident.PagerDutyService{ServiceID: "PSVC1"}
	if routingKey {
		cfg.APIURL, cfg.Token = "", ""
		pd = incident.PagerDutyService{RoutingKey: pdfake.RoutingKey("checkout")}
	}
	b = setupOn(t, storeMemory, pagerduty.New(cfg), func(p *incident.Policy) {
		svc := p.Services["checkout"]
		svc.PagerDuty = pd
		p.Services["checkout"] = svc
	})
	return b, fake
}

// A P1 pages on-call and the backup at once; a routing key reaches only
// the escalation policy's first level, and the channel says so, and why,
// instead of claiming the backup was paged.
func TestP1ByRoutingKeySaysTheBackupWasNotPaged(t *testing.T) {
	t.Parallel()
	b, fake := backupSetup(t, true, 2)
	inc := readyAt(t, b, incident.P1)
	b.queue.RunAll(t)
	require.Len(t, fake.Incidents(), 1)
	require.Equal(t, []string{"PUL1"}, fake.Incidents()[0].Notified, "the Events API pages level 1 only")
	paged := postsContaining(b.chat, inc.ChannelID, "Paged *Checkout*")
	require.Len(t, paged, 1)
	require.NotContains(t, paged[0], "and the backup)")
	require.Contains(t, paged[0], "The backup was not paged")
	require.Contains(t, paged[0], "routing key")
	require.Contains(t, paged[0], "call the backup")
}

// With the REST API and nobody on call at level 2, the channel says the
// backup was not paged because nobody is on call there.
func TestP1WithNobodyAtLevelTwoSaysTheBackupWasNotPaged(t *testing.T) {
	t.Parallel()
	b, fake := backupSetup(t, false, 1)
	inc := readyAt(t, b, incident.P1)
	b.queue.RunAll(t)
	require.Len(t, fake.Incidents(), 1)
	require.Equal(t, []string{"PUL1"}, fake.Incidents()[0].Notified)
	paged := postsContaining(b.chat, inc.ChannelID, "Paged *Checkout*")
	require.Len(t, paged, 1)
	require.NotContains(t, paged[0], "and the backup)")
	require.Contains(t, paged[0], "The backup was not paged")
	require.Contains(t, paged[0], "nobody is on call at level 2")
}

// With the REST API and somebody at level 2, the backup is paged, and the
// channel says so.
func TestP1WithABackupOnCallSaysTheBackupWasPaged(t *testing.T) {
	t.Parallel()
	b, fake := backupSetup(t, false, 2)
	inc := readyAt(t, b, incident.P1)
	b.queue.RunAll(t)
	require.Len(t, fake.Incidents(), 1)
	require.ElementsMatch(t, []string{"PUL1", "PUL2"}, fake.Incidents()[0].Notified)
	paged := postsContaining(b.chat, inc.ChannelID, "Paged *Checkout*")
	require.Len(t, paged, 1)
	require.Contains(t, paged[0], "(and the backup)")
	require.NotContains(t, paged[0], "not paged")
}
