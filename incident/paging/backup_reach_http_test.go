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

// p1Paged declares a P1 on backupSetup's Checkout and returns whom
// PagerDuty notified and the channel's one line about the page.
func p1Paged(t *testing.T, routingKey bool, levels int) (notified []string, line string) {
	t.Helper()
	b, fake := backupSetup(t, routingKey, levels)
	inc := readyAt(t, b, incident.P1)
	b.queue.RunAll(t)
	require.Len(t, fake.Incidents(), 1)
	paged := postsContaining(b.chat, inc.ChannelID, "Paged *Checkout*")
	require.Len(t, paged, 1)
	return fake.Incidents()[0].Notified, paged[0]
}

// A P1 pages on-call and the backup at once; a routing key reaches only
// the escalation policy's first level, and the channel says so, and why,
// instead of claiming the backup was paged.
func TestP1ByRoutingKeySaysTheBackupWasNotPaged(t *testing.T) {
	t.Parallel()
	notified, line := p1Paged(t, true, 2)
	require.Equal(t, []string{"PUL1"}, notified, "the Events API pages level 1 only")
	require.NotContains(t, line, "and the backup)")
	require.Contains(t, line, "The backup was not paged")
	require.Contains(t, line, "routing key")
	require.Contains(t, line, "call the backup")
}

// With the REST API and nobody on call at level 2, the channel says the
// backup was not paged because nobody is on call there.
func TestP1WithNobodyAtLevelTwoSaysTheBackupWasNotPaged(t *testing.T) {
	t.Parallel()
	notified, line := p1Paged(t, false, 1)
	require.Equal(t, []string{"PUL1"}, notified)
	require.NotContains(t, line, "and the backup)")
	require.Contains(t, line, "The backup was not paged")
	require.Contains(t, line, "nobody is on call at level 2")
}

// With the REST API and somebody at level 2, the backup is paged, and the
// channel says so.
func TestP1WithABackupOnCallSaysTheBackupWasPaged(t *testing.T) {
	t.Parallel()
	notified, line := p1Paged(t, false, 2)
	require.ElementsMatch(t, []string{"PUL1", "PUL2"}, notified)
	require.Contains(t, line, "(and the backup)")
	require.NotContains(t, line, "not paged")
}
