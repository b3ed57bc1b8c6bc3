package paging_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/paging"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// restartWith starts the bot again over b's store, queue, chat and clock,
// with the policy mutate makes of b's (a policy file edited, then a
// restart), and returns the new bundle.
func restartWith(t *testing.T, b bundle, pager incident.Pager, mutate func(*incident.Policy)) bundle {
	t.Helper()
	policy := b.svc.Policy()
	mutate(&policy)
	b.queue.ResetHandlers()
	svc := incident.NewService(incident.ServiceConfig{Store: b.store, Scheduler: b.queue, Chat: b.chat.Roles(), Policy: policy, Clock: b.clock})
	svc.RegisterJobs(b.queue)
	pg := paging.New(paging.Config{Store: b.store, Core: svc, Chat: incident.MarkDrills(b.chat.Roles(), b.store), Pager: pager, Scheduler: b.queue,
		Policy: policy, Clock: b.clock, Installation: testInstallation})
	pg.RegisterJobs(b.queue)
	svc.Use(pg.Feature())
	b.svc, b.pg = svc, pg
	return b
}

// A drill paged the drills' test service, and then drills.pagerduty was
// removed from the policy while the drill goes on. What follows the
// drill's page is skipped, never sent with production's PagerDuty setup:
// production's on-call is not invited into the drill channel, and neither
// an acknowledgement from Slack, the escalation at the response target,
// nor the resolution reaches production's routing key or on-call. The
// channel is not told that anything failed.
func TestDrillFollowUpsWithoutDrillPagerDutyAreSkipped(t *testing.T) {
	t.Parallel()
	b, fake, client := drillPagerDuty(t)
	ctx := context.Background()
	inc, _, err := b.svc.Declare(ctx, incident.DeclareInput{Title: "drill", Severity: incident.P2, ServiceKey: "checkout",
		DeclaredBy: "U0DECL", Drill: true, ReplyTo: incident.ReplyTarget{UserID: "U0DECL"}})
	require.NoError(t, err)
	b.queue.RunDue(t, b.clock.Now())
	inc, err = b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, fake.Incidents(), 1)
	require.Equal(t, "PTEST", fake.Incidents()[0].ServiceID, "the drill pages the test service")
	pages, err := b.store.ListPages(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, pages, 1)

	*b = restartWith(t, *b, client, func(p *incident.Policy) { p.Drills.PagerDuty = incident.PagerDutyService{} })
	posts := len(b.chat.Posts[inc.ChannelID])

	// Whom the page reached, asked again (PagerDuty reported it
	// reassigned, say).
	payload, _ := json.Marshal(map[string]any{"incident_id": inc.ID, "page": pages[0].DedupKey})
	_, err = b.queue.Schedule(ctx, incident.Job{Kind: paging.JobInvitePaged, Key: "invite-paged:again", Payload: payload, MaxAttempts: 1})
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	require.NotContains(t, b.chat.Members[inc.ChannelID], "U0RITA", "production's on-call is not pulled into a drill")

	// Kim, of the commander group, acknowledges from Slack.
	require.NoError(t, b.pg.AcknowledgePage(ctx, pages[0].DedupKey, "U0KIM", incident.ReplyTarget{UserID: "U0KIM"}))
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))

	// Nobody acknowledged in PagerDuty by the response target.
	advance(t, *b, 2*time.Hour)

	_, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))

	for _, e := range fake.Events() {
		require.NotEqual(t, pdfake.RoutingKey("prod"), e.RoutingKey, "%s sent with production's routing key", e.Action)
	}
	for _, c := range fake.Calls() {
		require.NotContains(t, c.RawQuery, "PEPPROD", "production's on-call asked: %s %s?%s", c.Method, c.Path, c.RawQuery)
	}
	for _, i := range fake.Incidents() {
		require.Equal(t, "PTEST", i.ServiceID, "nothing paged on production")
	}
	require.NotContains(t, b.chat.Members[inc.ChannelID], "U0RITA")
	b.chat.Mu.Lock()
	said := b.chat.Posts[inc.ChannelID][posts:]
	b.chat.Mu.Unlock()
	for _, p := range said {
		require.NotContains(t, p, "failed", "the channel is told nothing went wrong: %q", said)
	}
}
