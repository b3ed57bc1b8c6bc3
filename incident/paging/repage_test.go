package paging_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

func TestUnacknowledgedPageEscalatesAtTheResponseTarget(t *testing.T) {
	t.Parallel()
	b, pg := pagingSetup(t)
	b.chat.Users["carol@example.com"] = []string{"U0CAROLB"}
	b.chat.Users["oncall@example.com"] = []string{"U0ONCALL"}
	inc := readyAt(t, b, incident.P1)
	require.Contains(t, b.chat.Members[inc.ChannelID], "U0ONCALL", "the person paged is invited, matched by e-mail")
	require.NotContains(t, b.chat.Members[inc.ChannelID], "U0CAROLB")

	advance(t, b, 14*time.Minute)
	require.Empty(t, pg.escalated, "not before the 15-minute target")
	advance(t, b, 2*time.Minute)
	require.Equal(t, []string{"firebreak-inst-1-checkout"}, pg.escalated)
	posts := strings.Join(b.chat.Posts[inc.ChannelID], "\n")
	require.Contains(t, posts, ":rotating_light: Nobody acknowledged the page for *Checkout* within 15 minutes, so I escalated it in PagerDuty to the next level, now paging Carol Backup."+
		" [Re-page checkout:page_repage=1|checkout]", "said in the channel, with the button for doing it again")
	require.Contains(t, b.chat.Members[inc.ChannelID], "U0CAROLB", "the next level is invited too")
	page, err := b.store.FindPage(context.Background(), "pagerduty", "firebreak-inst-1-checkout")
	require.NoError(t, err)
	require.Equal(t, []string{"Carol Backup"}, page.Assignees)

	// Still nobody: once more a target later, at most three times.
	advance(t, b, time.Hour)
	require.Len(t, pg.escalated, 3)
	advance(t, b, time.Hour)
	require.Len(t, pg.escalated, 3, "bounded; the button and PagerDuty's own policy remain")
}

func TestAcknowledgedPageIsNotEscalated(t *testing.T) {
	t.Parallel()
	b, pg := pagingSetup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	advance(t, b, 5*time.Minute)
	require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV1", Kind: incident.PageAcknowledged,
		DedupKey: "firebreak-inst-1-checkout", Agent: "Bob Roe", At: b.clock.Now()}))
	advance(t, b, time.Hour)
	require.Empty(t, pg.escalated)
	require.NotContains(t, strings.Join(b.chat.Posts[inc.ChannelID], "\n"), "Nobody acknowledged the page")
}

func TestPageThatCannotEscalateIsSentAgainWithTheBackup(t *testing.T) {
	t.Parallel()
	b, pg := pagingSetup(t)
	pg.escalateErr = incident.Errorf(incident.EINVALID, "A page sent with a routing key cannot be escalated.")
	inc := readyAt(t, b, incident.P2)
	require.Len(t, pg.requests, 1)
	advance(t, b, 61*time.Minute)
	posts := strings.Join(b.chat.Posts[inc.ChannelID], "\n")
	require.Contains(t, posts, "Nobody acknowledged the page for *Checkout* within 1 hour, so I am paging again: on-call, and the backup where PagerDuty can reach them (the new page says which).")
	require.Len(t, pg.requests, 2)
	again := pg.requests[1]
	require.Equal(t, "firebreak-inst-1-checkout-r1", again.DedupKey, "a new page")
	require.True(t, again.Backup)
	require.Equal(t, "https://runbooks/checkout", again.Runbook)
	require.Equal(t, "https://slack.com/app_redirect?channel="+inc.ChannelID, again.Link)
}

func TestEscalationReportedByPagerDutyInvitesTheNewPeople(t *testing.T) {
	t.Parallel()
	b, pg := pagingSetup(t)
	ctx := context.Background()
	b.chat.Users["oncall@example.com"] = []string{"U0ONCALL"}
	b.chat.Users["erin@example.com"] = []string{"U0ERIN"}
	inc := readyAt(t, b, incident.P2)
	require.Contains(t, b.chat.Members[inc.ChannelID], "U0ONCALL")

	// PagerDuty's own policy escalated the page to Erin.
	pg.mu.Lock()
	pg.emails["firebreak-inst-1-checkout"] = []string{"erin@example.com"}
	pg.mu.Unlock()
	require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV-ESC", Kind: incident.PageEscalated,
		DedupKey: "firebreak-inst-1-checkout", Assignees: []string{"Erin Doe"}, At: b.clock.Now()}))
	require.Empty(t, b.queue.RunAll(t))
	require.Contains(t, b.chat.Members[inc.ChannelID], "U0ERIN", "the person PagerDuty escalated to is invited")
	require.Contains(t, strings.Join(b.chat.Posts[inc.ChannelID], "\n"), "escalated the page for checkout to Erin Doe")
}
