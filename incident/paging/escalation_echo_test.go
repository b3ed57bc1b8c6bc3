package paging_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/paging"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// PagerDuty reports the bot's own escalation of a page nobody acknowledged
// (incident.escalated, or incident.reassigned) as it reports every change,
// and may report it before the escalating call has even returned: before
// the bot has recorded the page's new people. These tests deliver that
// report at that moment and check the channel hears the escalation once.

// escalationEchoPager escalates as pager does and, before the escalating
// call returns, has PagerDuty report the escalation (echo); fail, when
// set, makes the call fail after PagerDuty has acted and reported it.
type escalationEchoPager struct {
	*pager
	mu   sync.Mutex
	echo func(ctx context.Context, page, escalated incident.Page)
	fail error
	// crash stops the escalating job at the call, as a crash of the
	// process would: no code of the job runs after it.
	crash bool
}

// errCrashed is the panic of a crashed escalation.
var errCrashed = fmt.Errorf("the process stopped")

func (p *escalationEchoPager) EscalateTo(ctx context.Context, page incident.Page, level int) (*incident.Page, bool, error) {
	out, escalated, err := p.pager.EscalateTo(ctx, page, level)
	if err != nil || !escalated {
		return out, escalated, err
	}
	p.mu.Lock()
	echo, fail, crash := p.echo, p.fail, p.crash
	p.echo = nil // PagerDuty reports one escalation once
	p.mu.Unlock()
	if echo != nil {
		echo(ctx, page, *out)
	}
	if crash {
		panic(errCrashed)
	}
	if fail != nil {
		return nil, false, fail
	}
	return out, true, nil
}

// escalationsSaid returns the channel's lines about an escalation of the
// page (the bot's re-page notice and PagerDuty's report) and the timeline
// events that record one as said (the bot's re-page, and PagerDuty's
// reports that were announced), leaving out the bot's own notes.
func escalationsSaid(t *testing.T, b bundle, inc *incident.Incident) (lines []string, events []string) {
	t.Helper()
	lines = append(postsContaining(b.chat, inc.ChannelID, "so I escalated it in PagerDuty"),
		postsContaining(b.chat, inc.ChannelID, "escalated the page")...)
	lines = append(lines, postsContaining(b.chat, inc.ChannelID, "reassigned the page")...)
	evs, err := b.store.ListTimeline(context.Background(), inc.ID)
	require.NoError(t, err)
	for _, e := range evs {
		d, ok := e.Payload.(incident.PagedData)
		if e.Kind != incident.EventPaged || !ok {
			continue
		}
		bot := e.Actor == "bot" && e.Key && d.Repage > 0
		pd := e.Actor == "pagerduty" && (d.Event == incident.PageEscalated || d.Event == incident.PageReassigned)
		if bot || pd {
			events = append(events, e.Text)
		}
	}
	return lines, events
}

// escalationEcho is PagerDuty's report of an escalation to escalated's
// people, by agent.
func escalationEcho(b bundle, id string, kind incident.PageEventKind, agent string, escalated incident.Page) incident.PageEvent {
	return incident.PageEvent{DeliveryID: id, Kind: kind, DedupKey: escalated.DedupKey, ExternalID: escalated.ExternalID,
		Agent: agent, Assignees: escalated.Assignees, At: b.clock.Now()}
}

func TestBotEscalationEchoBeforeItIsRecordedIsSaidOnce(t *testing.T) {
	t.Parallel()
	for _, kind := range everyStore {
		for _, event := range []incident.PageEventKind{incident.PageEscalated, incident.PageReassigned} {
			t.Run(fmt.Sprintf("%s/%s", kind, event), func(t *testing.T) {
				t.Parallel()
				pg := &escalationEchoPager{pager: newPager()}
				b := setupOn(t, kind, pg)
				pg.echo = func(ctx context.Context, _, escalated incident.Page) {
					// The page in the store still shows Bob Roe: the bot
					// has not recorded its escalation yet.
					page, err := b.store.FindPage(ctx, "pagerduty", pageKey)
					require.NoError(t, err)
					require.Equal(t, []string{"Bob Roe"}, page.Assignees)
					ev := escalationEcho(b, "EV-ESC", event, "firebreak", escalated)
					require.NoError(t, b.pg.HandlePageEvent(ctx, ev))
					require.NoError(t, b.pg.HandlePageEvent(ctx, ev), "a redelivery")
				}
				inc := readyAt(t, b, incident.P1)
				advance(t, b, 16*time.Minute)
				require.Equal(t, []string{pageKey}, pg.escalated, "the bot escalated once")

				lines, events := escalationsSaid(t, b, inc)
				require.Len(t, lines, 1, "said once: %q", lines)
				require.Contains(t, lines[0], "so I escalated it in PagerDuty to the next level, now paging Carol Backup")
				require.Len(t, events, 1, "recorded once: %q", events)
				require.True(t, hasSource(t, b, inc, "pd:EV-ESC"), "PagerDuty's report is recorded")
				page, err := b.store.FindPage(context.Background(), "pagerduty", pageKey)
				require.NoError(t, err)
				require.Equal(t, []string{"Carol Backup"}, page.Assignees)
				require.Equal(t, "triggered", page.Status)

				// Later, Jane reassigns the page in PagerDuty: said.
				require.NoError(t, b.pg.HandlePageEvent(context.Background(), incident.PageEvent{DeliveryID: "EV-JANE", Kind: incident.PageReassigned,
					DedupKey: pageKey, Agent: "Jane Doe", Assignees: []string{"Erin Doe"}, At: b.clock.Now()}))
				b.queue.RunDue(t, b.clock.Now())
				require.Len(t, postsContaining(b.chat, inc.ChannelID, "Jane Doe reassigned the page for checkout to Erin Doe"), 1)
			})
		}
	}
}

// TestBotEscalationEchoedOverHTTPIsSaidOnce: through the real PagerDuty
// client and webhook handler, PagerDuty delivers its signed
// incident.escalated for the bot's escalation before it answers the
// escalating request, or in the background as it answers.
func TestBotEscalationEchoedOverHTTPIsSaidOnce(t *testing.T) {
	t.Parallel()
	timings := map[string]pdfake.WebhookTiming{"before the answer": pdfake.WebhooksBeforeAnswer, "as it answers": pdfake.WebhooksAfterAnswer}
	for _, kind := range everyStore {
		for name, when := range timings {
			t.Run(fmt.Sprintf("%s/%s", kind, name), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				b, fake := pdEchoSetupOn(t, kind, when)
				inc := readyAt(t, b, incident.P2)

				// Nobody acknowledges within the hour: the bot escalates
				// to Carol, and PagerDuty reports it.
				advance(t, b, 61*time.Minute)
				require.NoError(t, fake.WaitWebhooks(ctx))
				advance(t, b, time.Minute)
				require.Equal(t, []string{"incident.triggered", "incident.escalated"}, deliveredOK(t, fake), "the echo really came back, accepted")
				lines, events := escalationsSaid(t, b, inc)
				require.Len(t, lines, 1, "said once: %q", lines)
				require.Contains(t, lines[0], "so I escalated it in PagerDuty to the next level, now paging Carol Poe")
				require.Len(t, events, 1, "recorded once: %q", events)
				page, err := b.store.FindPage(ctx, "pagerduty", pageKey)
				require.NoError(t, err)
				require.Equal(t, []string{"Carol Poe"}, page.Assignees)
			})
		}
	}
}

// TestGenuineReassignDuringTheBotsEscalationIsSaidOnce: Jane reassigns the
// page in PagerDuty to Erin while the bot's escalation is in flight; both
// reports arrive before the bot records its escalation. The bot's
// escalation is said once, and Jane's reassignment once.
func TestGenuineReassignDuringTheBotsEscalationIsSaidOnce(t *testing.T) {
	t.Parallel()
	for _, kind := range everyStore {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			pg := &escalationEchoPager{pager: newPager()}
			b := setupOn(t, kind, pg)
			pg.echo = func(ctx context.Context, _, escalated incident.Page) {
				require.NoError(t, b.pg.HandlePageEvent(ctx, escalationEcho(b, "EV-ESC", incident.PageEscalated, "firebreak", escalated)))
				require.NoError(t, b.pg.HandlePageEvent(ctx, incident.PageEvent{DeliveryID: "EV-JANE", Kind: incident.PageReassigned,
					DedupKey: pageKey, Agent: "Jane Doe", Assignees: []string{"Erin Doe"}, At: b.clock.Now()}))
			}
			inc := readyAt(t, b, incident.P1)
			advance(t, b, 16*time.Minute)

			lines, events := escalationsSaid(t, b, inc)
			require.Len(t, lines, 2, "%q", lines)
			require.Contains(t, lines[0], "so I escalated it in PagerDuty to the next level, now paging Carol Backup")
			require.Contains(t, lines[1], "Jane Doe reassigned the page for checkout to Erin Doe")
			require.Len(t, events, 2, "%q", events)
			page, err := b.store.FindPage(context.Background(), "pagerduty", pageKey)
			require.NoError(t, err)
			require.Equal(t, []string{"Erin Doe"}, page.Assignees, "Jane's reassignment came last")
		})
	}
}

// unavailable is PagerDuty failing for a while, after it acted: the job
// tries again in a few minutes.
type unavailable struct{}

func (unavailable) Error() string             { return "PagerDuty is unavailable" }
func (unavailable) RetryAfter() time.Duration { return 5 * time.Minute }

// TestReportAfterAFailedEscalationIsNotHeldBack: PagerDuty escalated the
// page and reported it, but the escalating call failed. The escalation in
// flight ends with the failure, so PagerDuty's report is said at once, as
// the news it is to the channel, rather than held back or dropped.
func TestReportAfterAFailedEscalationIsNotHeldBack(t *testing.T) {
	t.Parallel()
	for _, kind := range everyStore {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			pg := &escalationEchoPager{pager: newPager(), fail: unavailable{}}
			b := setupOn(t, kind, pg)
			pg.echo = func(ctx context.Context, _, escalated incident.Page) {
				require.NoError(t, b.pg.HandlePageEvent(ctx, escalationEcho(b, "EV-ESC", incident.PageEscalated, "firebreak", escalated)))
			}
			inc := readyAt(t, b, incident.P1)
			advance(t, b, 16*time.Minute)
			require.Equal(t, []string{pageKey}, pg.escalated)

			lines, events := escalationsSaid(t, b, inc)
			require.Len(t, lines, 1, "%q", lines)
			require.Contains(t, lines[0], "PagerDuty escalated the page for checkout to Carol Backup")
			require.Len(t, events, 1, "%q", events)
			page, err := b.store.FindPage(context.Background(), "pagerduty", pageKey)
			require.NoError(t, err)
			require.Equal(t, []string{"Carol Backup"}, page.Assignees)
			evs, err := b.store.ListTimeline(context.Background(), inc.ID)
			require.NoError(t, err)
			require.True(t, slices.ContainsFunc(evs, func(e incident.TimelineEvent) bool {
				return strings.HasPrefix(e.Text, "Asking PagerDuty to escalate the page for checkout failed: ")
			}), "the failure is on the timeline")

			// The job tries again once PagerDuty is back: to the level it
			// decided, which the page is at. Nothing more is asked of
			// PagerDuty, and the channel, which heard PagerDuty's report,
			// hears nothing more; the step is recorded, off the key events.
			advance(t, b, 5*time.Minute)
			require.Equal(t, []string{pageKey}, pg.escalated, "escalated once")
			lines, events = escalationsSaid(t, b, inc)
			require.Len(t, lines, 1, "%q", lines)
			require.Len(t, events, 1, "%q", events)
			evs, err = b.store.ListTimeline(context.Background(), inc.ID)
			require.NoError(t, err)
			i := slices.IndexFunc(evs, func(e incident.TimelineEvent) bool { return e.SourceID == "repage:"+pageKey+":1" })
			require.GreaterOrEqual(t, i, 0, "the step's outcome is recorded")
			require.False(t, evs[i].Key)
			require.Equal(t, "The re-page found the page for checkout at level 2 already, as PagerDuty reported, paging Carol Backup; nothing more was asked of PagerDuty.", evs[i].Text)
			require.True(t, jobWaits(b, paging.JobRepage, "repage:"+pageKey+":2"), "the next check is planned")
		})
	}
}

// TestReportHeldByAnEscalationThatNeverEndsIsSaidInTime: the process stops
// during the escalating call, after PagerDuty acted and reported it, so
// nothing records the end of the escalation. PagerDuty's report is held
// back only for a bounded time, then said.
func TestReportHeldByAnEscalationThatNeverEndsIsSaidInTime(t *testing.T) {
	t.Parallel()
	for _, kind := range everyStore {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			pg := &escalationEchoPager{pager: newPager(), crash: true}
			b := setupOn(t, kind, pg)
			pg.echo = func(ctx context.Context, _, escalated incident.Page) {
				require.NoError(t, b.pg.HandlePageEvent(ctx, escalationEcho(b, "EV-ESC", incident.PageEscalated, "firebreak", escalated)))
			}
			inc := readyAt(t, b, incident.P1)
			func() {
				defer func() { require.Equal(t, errCrashed, recover()) }()
				advance(t, b, 16*time.Minute)
			}()
			require.Equal(t, []string{pageKey}, pg.escalated)
			b.queue.RunDue(t, b.clock.Now())
			lines, _ := escalationsSaid(t, b, inc)
			require.Empty(t, lines, "held back while the escalation may still be recorded")

			advance(t, b, 3*time.Minute)
			lines, events := escalationsSaid(t, b, inc)
			require.Len(t, lines, 1, "%q", lines)
			require.Contains(t, lines[0], "PagerDuty escalated the page for checkout to Carol Backup")
			require.Len(t, events, 1, "%q", events)
		})
	}
}
