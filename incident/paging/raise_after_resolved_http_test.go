package paging_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// TestRaiseAfterThePageWasResolvedInPagerDutyPagesAnewAndTracksIt: a P2
// pages Checkout; on-call resolves the PagerDuty incident from the phone
// while the incident goes on; raised to P1, the incident pages on-call and
// the backup as a new page, under a key of its own, which the channel's
// Acknowledge button acts on and resolving the incident resolves.
func TestRaiseAfterThePageWasResolvedInPagerDutyPagesAnewAndTracksIt(t *testing.T) {
	t.Parallel()
	for _, kind := range everyStore {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			b, fake := pdEchoSetupOn(t, kind, pdfake.WebhooksAfterAnswer)
			ctx := context.Background()
			inc := readyAt(t, b, incident.P2)
			b.queue.RunAll(t)
			require.Len(t, fake.Incidents(), 1)
			first := fake.Incidents()[0]
			onPhone(t, fake, first.ID, "bob@example.com", "resolved")
			require.NoError(t, fake.WaitWebhooks(ctx))
			b.queue.RunAll(t)

			_, err := b.svc.SetSeverity(ctx, inc.ID, incident.P1, "U0DECL")
			require.NoError(t, err)
			b.queue.RunAll(t)
			require.NoError(t, fake.WaitWebhooks(ctx))
			b.queue.RunAll(t)
			require.Len(t, fake.Incidents(), 2)
			second := fake.Incidents()[1]
			require.Equal(t, pageKey+"-r1", second.IncidentKey, "a new page, under its own key")
			require.ElementsMatch(t, []string{"PUBOB", "PUCAROL"}, second.Assignees)
			pages, err := b.store.ListPages(ctx, inc.ID)
			require.NoError(t, err)
			require.Len(t, pages, 2, "recorded")
			require.Equal(t, second.ID, pages[1].ExternalID)
			require.Equal(t, "triggered", pages[1].Status)
			require.Len(t, postsContaining(b.chat, inc.ChannelID, "[Acknowledge:page_ack="+pageKey+"-r1]"), 1, "%q", b.chat.Posts[inc.ChannelID])

			require.NoError(t, b.pg.AcknowledgePage(ctx, pageKey+"-r1", "U0KIM", incident.ReplyTarget{UserID: "U0KIM"}))
			b.queue.RunAll(t)
			got, _ := fake.Incident(second.ID)
			require.Equal(t, "acknowledged", got.Status, "the button acknowledges the new page")

			_, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "")
			require.NoError(t, err)
			b.queue.RunAll(t)
			for _, i := range fake.Incidents() {
				require.Equal(t, "resolved", i.Status, "resolving the incident resolves every PagerDuty incident the bot opened: %s", i.ID)
			}
		})
	}
}

// TestPageSentAgainAnsweredWithANewPagerDutyIncidentIsRecorded: on-call
// resolves the page in PagerDuty, and the raise to P1 adds the backup to
// it before PagerDuty's report of the resolution arrives. PagerDuty has no
// open incident under the key any more and opens a new one, which is the
// page now: the bot records it, a late report about the incident before
// changes nothing, and resolving the incident resolves the new one.
func TestPageSentAgainAnsweredWithANewPagerDutyIncidentIsRecorded(t *testing.T) {
	t.Parallel()
	b, fake := pdEchoSetup(t, pdfake.WebhooksHeld)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P2)
	b.queue.RunAll(t)
	fake.DeliverWebhooks(ctx)
	b.queue.RunAll(t)
	first := fake.Incidents()[0]
	onPhone(t, fake, first.ID, "bob@example.com", "resolved") // reported later

	_, err := b.svc.SetSeverity(ctx, inc.ID, incident.P1, "U0DECL")
	require.NoError(t, err)
	b.queue.RunAll(t)
	require.Len(t, fake.Incidents(), 2)
	second := fake.Incidents()[1]
	require.Equal(t, pageKey, second.IncidentKey, "sent again under the page's key")
	page, err := b.store.FindPage(ctx, "pagerduty", pageKey)
	require.NoError(t, err)
	require.Equal(t, second.ID, page.ExternalID, "the new PagerDuty incident is the page now")
	require.Equal(t, "triggered", page.Status)
	require.ElementsMatch(t, []string{"Bob Roe", "Carol Poe"}, page.Assignees)

	fake.DeliverWebhooks(ctx)
	b.queue.RunAll(t)
	page, err = b.store.FindPage(ctx, "pagerduty", pageKey)
	require.NoError(t, err)
	require.Equal(t, "triggered", page.Status, "the late report of the first incident's resolution changes nothing")
	require.Empty(t, postsContaining(b.chat, inc.ChannelID, "was resolved in PagerDuty"))

	_, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "")
	require.NoError(t, err)
	b.queue.RunAll(t)
	got, _ := fake.Incident(second.ID)
	require.Equal(t, "resolved", got.Status)
}
