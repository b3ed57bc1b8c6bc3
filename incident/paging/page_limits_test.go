package paging_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// TestBystanderRepagingIsLimitedOverHTTP reproduces the review: someone
// with no role in the incident runs `page` every two seconds. Through the
// real PagerDuty client against pdfake, each accepted re-page would be a
// new PagerDuty incident (and on a P1 a page of the backup too). Within
// the cooldown after the last page, every one is refused, saying when the
// last page went and who may page again now, and PagerDuty holds one
// incident; after the cooldown the bystander's page goes out once.
func TestBystanderRepagingIsLimitedOverHTTP(t *testing.T) {
	t.Parallel()
	b, fake := pdEchoSetup(t, pdfake.WebhooksHeld)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	require.Len(t, fake.Incidents(), 1, "the declare's page")
	require.Equal(t, "U0DECL", inc.Commander)

	for i := 0; i < 10; i++ {
		b.clock.Advance(2 * time.Second)
		_, err := b.pg.Page(ctx, inc.ID, "", "U0BYST")
		require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err), "click %d", i)
		msg := incident.ErrorMessage(err)
		require.Contains(t, msg, "Checkout was last paged for "+inc.Key()+" at 14:23 UTC")
		require.Contains(t, msg, "may page it again from 14:28 UTC")
		require.Contains(t, msg, "the Incident Commander (U0DECL)")
		require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	}
	require.Len(t, fake.Incidents(), 1, "no PagerDuty incident for the bystander's clicks")

	// Five minutes after the last page, the bystander may call for help
	// again, once.
	b.clock.Set(time.Date(2026, 8, 7, 14, 28, 1, 0, time.UTC))
	_, err := b.pg.Page(ctx, inc.ID, "", "U0BYST")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	require.Len(t, fake.Incidents(), 2)
	b.clock.Advance(3 * time.Second)
	_, err = b.pg.Page(ctx, inc.ID, "checkout", "U0BYST")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "at 14:28 UTC")
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	require.Len(t, fake.Incidents(), 2)
}

// leadsSetup is pagingSetup with a second service, search, and a
// commander group S0LEADS of which U0LEAD is a member; U0ROLE holds the
// comms role of the P2 incident it returns.
func leadsSetup(t *testing.T, mutate ...func(*incident.Policy)) (bundle, *pager, *incident.Incident) {
	t.Helper()
	b, pg := pagingSetup(t, append([]func(*incident.Policy){func(p *incident.Policy) {
		p.CommanderGroup = "S0LEADS"
		p.Services["search"] = incident.ServicePolicy{Key: "search", Name: "Search"}
	}}, mutate...)...)
	b.chat.Users["S0LEADS"] = []string{"U0LEAD"}
	inc := readyAt(t, b, incident.P2)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	_, err := b.svc.AssignRole(context.Background(), inc.ID, incident.RoleComms, "U0ROLE", "U0DECL")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	return b, pg, inc
}

// pageRequests counts the pages sent to the provider.
func pageRequests(pg *pager) int {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	return len(pg.requests)
}

// TestLeadsRepageAtOnce: the IC, a role holder and a member of the
// commander group page again at once, each a new page; the refusal of a
// bystander names them all.
func TestLeadsRepageAtOnce(t *testing.T) {
	t.Parallel()
	b, pg, inc := leadsSetup(t)
	ctx := context.Background()
	require.Equal(t, 1, pageRequests(pg))

	b.clock.Advance(5 * time.Second)
	_, err := b.pg.Page(ctx, inc.ID, "", "U0BYST")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	var r *incident.Refusal
	require.ErrorAs(t, err, &r)
	require.Contains(t, r.WhoCan, incident.Principal{Kind: incident.PrincipalRole, ID: incident.RoleCommander, Holder: "U0DECL"})
	require.Contains(t, r.WhoCan, incident.Principal{Kind: incident.PrincipalRole, ID: incident.RoleComms, Holder: "U0ROLE"})
	require.Contains(t, r.WhoCan, incident.Principal{Kind: incident.PrincipalRef, ID: "S0LEADS"})
	require.Contains(t, r.Message(), "Checkout was last paged for "+inc.Key()+" at 14:23 UTC, 5s ago")

	for i, who := range []string{"U0DECL", "U0ROLE", "U0LEAD"} {
		b.clock.Advance(2 * time.Second)
		_, err := b.pg.Page(ctx, inc.ID, "", who)
		require.NoError(t, err, who)
		require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
		require.Equal(t, 2+i, pageRequests(pg), "%s paged again at once", who)
	}
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(func() error { _, err := b.pg.Page(ctx, inc.ID, "", "U0BYST"); return err }()))
}

// TestOnlyLeadsPageAnotherService: paging a service other than the
// incident's own is for the IC, the role holders and the commander group,
// even long after the last page.
func TestOnlyLeadsPageAnotherService(t *testing.T) {
	t.Parallel()
	b, pg, inc := leadsSetup(t)
	ctx := context.Background()
	b.clock.Advance(time.Hour)

	_, err := b.pg.Page(ctx, inc.ID, "search", "U0BYST")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "paging a service other than "+inc.Key()+"'s own (Checkout)")
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	require.Equal(t, 1, pageRequests(pg))

	for i, who := range []string{"U0ROLE", "U0LEAD", "U0DECL"} {
		_, err := b.pg.Page(ctx, inc.ID, "search", who)
		require.NoError(t, err, who)
		require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
		require.Equal(t, 2+i, pageRequests(pg), who)
		b.clock.Advance(time.Second)
	}

	// The incident's own service, an hour after its last page: anyone.
	_, err = b.pg.Page(ctx, inc.ID, "checkout", "U0BYST")
	require.NoError(t, err)
}

// TestRepageCooldownIsThePolicys: the policy's RepageCooldown replaces the
// default five minutes.
func TestRepageCooldownIsThePolicys(t *testing.T) {
	t.Parallel()
	b, pg, inc := leadsSetup(t, func(p *incident.Policy) { p.RepageCooldown = time.Minute })
	ctx := context.Background()
	b.clock.Advance(59 * time.Second)
	_, err := b.pg.Page(ctx, inc.ID, "", "U0BYST")
	require.Contains(t, incident.ErrorMessage(err), "may page it again from 14:24 UTC")
	b.clock.Advance(time.Second)
	_, err = b.pg.Page(ctx, inc.ID, "", "U0BYST")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	require.Equal(t, 2, pageRequests(pg))
}
