package paging_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
)

func TestDrillIsMarkedAndPagesNobody(t *testing.T) {
	t.Parallel()
	b, pg := pagingSetup(t)
	ctx := context.Background()
	svc := b.svc.Policy().Services["checkout"]
	svc.PagerDuty = incident.PagerDutyService{ServiceID: "PREAL"}
	inc, _, err := b.svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P1, ServiceKey: "checkout",
		DeclaredBy: "U0DECL", Drill: true})
	require.NoError(t, err)
	require.True(t, inc.Drill)
	require.Empty(t, b.queue.RunAll(t))
	inc, err = b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, "inc-drill-2026-08-07-checkout-is-down", inc.ChannelName)
	require.Empty(t, pg.requests, "a drill without a test service pages nobody")
	sim := postsContaining(b.chat, inc.ChannelID, "Simulated page")
	require.Len(t, sim, 1)
	b.chat.Mu.Lock()
	for _, p := range b.chat.Posts[inc.ChannelID] {
		require.True(t, strings.HasPrefix(p, bot.DrillMarker), "every line in a drill's channel is marked: %q", p)
	}
	b.chat.Mu.Unlock()
	require.True(t, strings.HasPrefix(b.chat.Topics[inc.ChannelID], "DRILL | "))

	// With a test service in the policy, the drill pages it, and only it.
	b2, pg2 := pagingSetup(t, func(p *incident.Policy) { p.Drills.PagerDuty = incident.PagerDutyService{ServiceID: "PTEST"} })
	_, _, err = b2.svc.Declare(ctx, incident.DeclareInput{Title: "drill", Severity: incident.P1, ServiceKey: "checkout", DeclaredBy: "U0DECL", Drill: true})
	require.NoError(t, err)
	require.Empty(t, b2.queue.RunAll(t))
	require.NotEmpty(t, pg2.requests)
	for _, r := range pg2.requests {
		require.Equal(t, "PTEST", r.Service.PagerDuty.ServiceID)
		require.True(t, strings.HasPrefix(r.Title, "[DRILL] "))
	}
}
