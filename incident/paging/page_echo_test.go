package paging_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// PagerDuty sends its v3 webhook for every change, the bot's own too: these
// tests feed the bot the echo of what it did and check it is said once.

const pageKey = "firebreak-inst-1-checkout"

// countAcks returns the channel lines about an acknowledgement and the
// acknowledged events on the timeline.
func countAcks(t *testing.T, b bundle, inc *incident.Incident) (lines []string, events int) {
	t.Helper()
	lines = postsContaining(b.chat, inc.ChannelID, "Acknowledged by")
	evs, err := b.store.ListTimeline(context.Background(), inc.ID)
	require.NoError(t, err)
	for _, e := range evs {
		if e.Kind == incident.EventAcknowledged {
			events++
		}
	}
	return lines, events
}

func hasSource(t *testing.T, b bundle, inc *incident.Incident, source string) bool {
	t.Helper()
	evs, err := b.store.ListTimeline(context.Background(), inc.ID)
	require.NoError(t, err)
	for _, e := range evs {
		if e.SourceID == source {
			return true
		}
	}
	return false
}

func pageStatus(t *testing.T, b bundle) string {
	t.Helper()
	page, err := b.store.FindPage(context.Background(), "pagerduty", pageKey)
	require.NoError(t, err)
	return page.Status
}

func TestSlackAckAndItsPagerDutyEchoAreAnnouncedOnce(t *testing.T) {
	t.Parallel()
	b, _ := pagingSetup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P2)
	require.Empty(t, b.queue.RunAll(t))
	b.clock.Advance(2 * time.Minute)
	require.NoError(t, b.pg.AcknowledgePage(ctx, pageKey, "U0KIM", incident.ReplyTarget{UserID: "U0KIM"}))
	require.Empty(t, b.queue.RunAll(t))

	// PagerDuty's webhook for Kim's acknowledgement, and its redelivery.
	echo := incident.PageEvent{DeliveryID: "EV-ACK", Kind: incident.PageAcknowledged, DedupKey: pageKey, Agent: "Kim Lee", At: b.clock.Now()}
	require.NoError(t, b.pg.HandlePageEvent(ctx, echo))
	require.NoError(t, b.pg.HandlePageEvent(ctx, echo))
	require.Empty(t, b.queue.RunAll(t))

	lines, events := countAcks(t, b, inc)
	require.Len(t, lines, 1, "one acknowledgement, said once: %q", lines)
	require.Contains(t, lines[0], "Acknowledged by <@U0KIM>", "said as the Slack acknowledgement")
	require.Equal(t, 1, events)
	require.True(t, hasSource(t, b, inc, "pd:EV-ACK"), "the echo's dedupe marker is kept")
	require.Equal(t, "acknowledged", pageStatus(t, b))
}

// echoingPager delivers PagerDuty's webhook for an acknowledgement before
// the acknowledging call returns: the webhook may beat the bot to its own
// record.
type echoingPager struct {
	*pager
	echo func(page incident.Page)
}

func (p *echoingPager) Acknowledge(ctx context.Context, page incident.Page, email string) (time.Time, error) {
	if _, err := p.pager.Acknowledge(ctx, page, email); err != nil {
		return time.Time{}, err
	}
	p.echo(page)
	return time.Time{}, nil
}

func TestPagerDutyEchoBeforeTheSlackAckIsRecordedIsAnnouncedOnce(t *testing.T) {
	t.Parallel()
	pg := &echoingPager{pager: newPager()}
	b := setup(t, pg)
	ctx := context.Background()
	pg.echo = func(page incident.Page) {
		require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV-ACK", Kind: incident.PageAcknowledged,
			DedupKey: page.DedupKey, Agent: "Kim Lee", At: b.clock.Now()}))
	}
	inc := readyAt(t, b, incident.P2)
	require.Empty(t, b.queue.RunAll(t))
	b.clock.Advance(2 * time.Minute)
	require.NoError(t, b.pg.AcknowledgePage(ctx, pageKey, "U0KIM", incident.ReplyTarget{UserID: "U0KIM"}))
	require.Empty(t, b.queue.RunAll(t))

	lines, events := countAcks(t, b, inc)
	require.Len(t, lines, 1, "said once, by whichever came first: %q", lines)
	require.Contains(t, lines[0], "Acknowledged by Kim Lee in PagerDuty", "the webhook came first")
	require.Equal(t, 1, events)
	require.True(t, hasSource(t, b, inc, "slack-ack:"+pageKey), "the Slack acknowledgement's marker is kept")
}

func TestSlackAckOfAPageAcknowledgedInPagerDutyIsStillSaid(t *testing.T) {
	t.Parallel()
	b, _ := pagingSetup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P2)
	require.Empty(t, b.queue.RunAll(t))
	require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV-JANE", Kind: incident.PageAcknowledged,
		DedupKey: pageKey, Agent: "Jane Doe", At: b.clock.Now()}))
	// Kim acknowledges from Slack too: not an echo of Jane's.
	require.NoError(t, b.pg.AcknowledgePage(ctx, pageKey, "U0KIM", incident.ReplyTarget{UserID: "U0KIM"}))
	require.Empty(t, b.queue.RunAll(t))
	lines, events := countAcks(t, b, inc)
	require.Len(t, lines, 2, "%q", lines)
	require.Equal(t, 2, events)
}

func TestReacknowledgementAfterUnacknowledgedIsAnnouncedAgain(t *testing.T) {
	t.Parallel()
	b, _ := pagingSetup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P2)
	require.Empty(t, b.queue.RunAll(t))

	// From Slack, with PagerDuty's echo; the acknowledgement times out;
	// Jane acknowledges in PagerDuty.
	require.NoError(t, b.pg.AcknowledgePage(ctx, pageKey, "U0KIM", incident.ReplyTarget{UserID: "U0KIM"}))
	require.Empty(t, b.queue.RunAll(t))
	require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV1", Kind: incident.PageAcknowledged, DedupKey: pageKey, Agent: "Kim Lee"}))
	require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV2", Kind: incident.PageUnacknowledged, DedupKey: pageKey}))
	require.Equal(t, "triggered", pageStatus(t, b), "unacknowledged puts the page back to triggered")
	require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV3", Kind: incident.PageAcknowledged, DedupKey: pageKey, Agent: "Jane Doe"}))
	require.Empty(t, b.queue.RunAll(t))
	lines, events := countAcks(t, b, inc)
	require.Len(t, lines, 2, "%q", lines)
	require.Contains(t, lines[1], "Jane Doe in PagerDuty")
	require.Equal(t, 2, events)
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "unacknowledged again"), 1)

	// All in PagerDuty: acknowledged, unacknowledged, acknowledged.
	b2, _ := pagingSetup(t)
	inc2 := readyAt(t, b2, incident.P2)
	require.Empty(t, b2.queue.RunAll(t))
	for i, k := range []incident.PageEventKind{incident.PageAcknowledged, incident.PageUnacknowledged, incident.PageAcknowledged} {
		require.NoError(t, b2.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV-" + string(rune('a'+i)), Kind: k, DedupKey: pageKey, Agent: "Jane Doe"}))
	}
	require.Empty(t, b2.queue.RunAll(t))
	lines, events = countAcks(t, b2, inc2)
	require.Len(t, lines, 2, "%q", lines)
	require.Equal(t, 2, events)
	require.Equal(t, "acknowledged", pageStatus(t, b2))
}

func TestBotResolveEchoIsNotAnnounced(t *testing.T) {
	t.Parallel()
	b, pg := pagingSetup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P2)
	require.Empty(t, b.queue.RunAll(t))
	_, err := b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	require.Equal(t, []string{pageKey}, pg.resolved, "the bot resolved the page")

	// PagerDuty's webhook for the bot's resolve.
	require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV-RES", Kind: incident.PageResolved, DedupKey: pageKey, Agent: "firebreak"}))
	require.Empty(t, b.queue.RunAll(t))
	require.Empty(t, postsContaining(b.chat, inc.ChannelID, "resolved in PagerDuty"))
	require.True(t, hasSource(t, b, inc, "pd:EV-RES"))

	// Reopened in PagerDuty: said. Resolved there again while the incident
	// is resolved: recorded, not said again.
	require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV-REO", Kind: incident.PageReopened, DedupKey: pageKey, Agent: "Jane Doe"}))
	require.Equal(t, "triggered", pageStatus(t, b))
	require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV-RES2", Kind: incident.PageResolved, DedupKey: pageKey, Agent: "Jane Doe"}))
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "reopened in PagerDuty"), 1)
	require.Empty(t, postsContaining(b.chat, inc.ChannelID, "resolved in PagerDuty"))
	require.Equal(t, "resolved", pageStatus(t, b))
	page, err := b.store.FindPage(ctx, "pagerduty", pageKey)
	require.NoError(t, err)
	require.NotNil(t, page.ResolvedAt)
}

// resolvingPager delivers PagerDuty's webhook for the bot's resolve before
// the resolving call returns.
type resolvingPager struct {
	*pager
	echo func(page incident.Page)
}

func (p *resolvingPager) Resolve(ctx context.Context, page incident.Page) (time.Time, error) {
	if _, err := p.pager.Resolve(ctx, page); err != nil {
		return time.Time{}, err
	}
	p.echo(page)
	return time.Time{}, nil
}

func TestBotResolveEchoBeforeItIsRecordedIsNotAnnounced(t *testing.T) {
	t.Parallel()
	pg := &resolvingPager{pager: newPager()}
	b := setup(t, pg)
	ctx := context.Background()
	pg.echo = func(page incident.Page) {
		require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV-RES", Kind: incident.PageResolved, DedupKey: page.DedupKey, Agent: "firebreak"}))
	}
	inc := readyAt(t, b, incident.P2)
	require.Empty(t, b.queue.RunAll(t))
	_, err := b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	require.Equal(t, []string{pageKey}, pg.resolved)
	require.Empty(t, postsContaining(b.chat, inc.ChannelID, "resolved in PagerDuty"))
	require.True(t, hasSource(t, b, inc, "pd:EV-RES"))
	require.Equal(t, "resolved", pageStatus(t, b))
}

func TestBotEscalationAndReassignEchoesAreNotAnnounced(t *testing.T) {
	t.Parallel()
	b, pg := pagingSetup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	advance(t, b, 16*time.Minute)
	require.Equal(t, []string{pageKey}, pg.escalated, "the bot escalated to Carol Backup")
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "Nobody acknowledged the page"), 1)

	// PagerDuty's webhooks for the bot's escalation.
	for _, k := range []incident.PageEventKind{incident.PageEscalated, incident.PageReassigned} {
		require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV-" + string(k), Kind: k, DedupKey: pageKey,
			Agent: "firebreak", Assignees: []string{"Carol Backup"}, At: b.clock.Now()}))
	}
	require.Empty(t, b.queue.RunAll(t))
	require.Empty(t, postsContaining(b.chat, inc.ChannelID, "escalated the page"))
	require.Empty(t, postsContaining(b.chat, inc.ChannelID, "reassigned the page"))
	require.True(t, hasSource(t, b, inc, "pd:EV-escalated"))
	require.Equal(t, "triggered", pageStatus(t, b))

	// Someone reassigns it in PagerDuty to Erin: genuine, said.
	require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV-RE2", Kind: incident.PageReassigned, DedupKey: pageKey,
		Agent: "Jane Doe", Assignees: []string{"Erin Doe"}, At: b.clock.Now()}))
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "reassigned the page for checkout to Erin Doe"), 1)
	page, err := b.store.FindPage(ctx, "pagerduty", pageKey)
	require.NoError(t, err)
	require.Equal(t, []string{"Erin Doe"}, page.Assignees)
	// An escalation of an acknowledged page to the same people still
	// changes its status: not an echo.
	require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV-ACK", Kind: incident.PageAcknowledged, DedupKey: pageKey, Agent: "Erin Doe"}))
	require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV-ESC2", Kind: incident.PageEscalated, DedupKey: pageKey,
		Assignees: []string{"Erin Doe"}, At: b.clock.Now()}))
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "escalated the page for checkout to Erin Doe"), 1)
	require.Equal(t, "triggered", pageStatus(t, b))
	require.Len(t, strings.Split(strings.Join(postsContaining(b.chat, inc.ChannelID, "Acknowledged by"), "\n"), "\n"), 1)
}

// TestSlackAckAgainAfterItTimedOut: when an acknowledgement times out and
// PagerDuty puts the page back to triggered, the same person's Acknowledge
// click acknowledges again and is said again; a double click within one
// round acknowledges once, and so does a click after PagerDuty redelivered
// its report that the page was triggered again. The page keeps the count of
// its rounds on every store.
func TestSlackAckAgainAfterItTimedOut(t *testing.T) {
	t.Parallel()
	for _, kind := range everyStore {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			testSlackAckAgainAfterItTimedOut(t, kind)
		})
	}
}

func testSlackAckAgainAfterItTimedOut(t *testing.T, kind storeKind) {
	pg := newPager()
	b := setupOn(t, kind, pg)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P2)
	require.Empty(t, b.queue.RunAll(t))
	click := func() {
		require.NoError(t, b.pg.AcknowledgePage(ctx, pageKey, "U0KIM", incident.ReplyTarget{UserID: "U0KIM"}))
	}
	click()
	click() // a double click
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, pg.acks, 1)
	require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV1", Kind: incident.PageAcknowledged, DedupKey: pageKey, Agent: "Kim Lee"}))
	require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV2", Kind: incident.PageUnacknowledged, DedupKey: pageKey}))
	require.Equal(t, "triggered", pageStatus(t, b))

	click()
	click()
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, pg.acks, 2, "acknowledged in PagerDuty again, once")
	require.Equal(t, "acknowledged", pageStatus(t, b))
	lines, events := countAcks(t, b, inc)
	require.Len(t, lines, 2, "%q", lines)
	require.Equal(t, 2, events)
	// PagerDuty's report of the second acknowledgement is its echo.
	require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV3", Kind: incident.PageAcknowledged, DedupKey: pageKey, Agent: "Kim Lee"}))
	lines, events = countAcks(t, b, inc)
	require.Len(t, lines, 2, "%q", lines)
	require.Equal(t, 2, events)

	// PagerDuty delivers its report of the first round's end again: the
	// page is in the same round, and a click acknowledges nothing more.
	require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV2", Kind: incident.PageUnacknowledged, DedupKey: pageKey}))
	page, err := b.store.FindPage(ctx, "pagerduty", pageKey)
	require.NoError(t, err)
	require.Equal(t, 1, page.Retriggers, "a redelivery is not another round")
	click()
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, pg.acks, 2, "the click is a repeat of this round's")
}
