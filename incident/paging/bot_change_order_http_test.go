package paging_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// The bot's own changes of a page (an acknowledgement from Slack, its
// escalation, its resolution) are ordered against PagerDuty's reports by
// PagerDuty's time of them, from PagerDuty's answers, whatever the skew
// between the bot's clock and PagerDuty's.

// skews are PagerDuty's clock ahead of the bot's, none, and behind it.
var skews = []time.Duration{2 * time.Minute, 0, -2 * time.Minute}

// skewedSetup pages Checkout for a P2 through pdfake, whose clock is skew
// ahead of the bot's, and returns the bundle, the fake, the URL of the
// bot's webhook handler and the PagerDuty incident. The fake's own
// webhooks are held until the test delivers them.
func skewedSetup(t *testing.T, skew time.Duration) (bundle, *pdfake.Server, string, string, *incident.Incident) {
	t.Helper()
	b, fake := pdSkewedSetupOn(t, storeMemory, pdfake.WebhooksHeld, skew)
	inc := readyAt(t, b, incident.P2)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	incidents := fake.Incidents()
	require.Len(t, incidents, 1)
	fake.DeliverWebhooks(t.Context()) // incident.triggered
	hooks := httptest.NewServer(pagerduty.NewWebhookHandler([]string{echoSecret}, b.pg.HandlePageEvent, nil))
	t.Cleanup(hooks.Close)
	return b, fake, hooks.URL + "/webhooks/pagerduty", incidents[0].ID, inc
}

func skewName(skew time.Duration) string {
	switch {
	case skew > 0:
		return "PagerDuty ahead by " + skew.String()
	case skew < 0:
		return "PagerDuty behind by " + (-skew).String()
	}
	return "same clock"
}

// TestEscalationDeliveredAfterASlackAcknowledgementChangesNothing:
// PagerDuty's escalation policy escalates a page nobody acknowledged, and a
// minute later (by PagerDuty's clock) Kim acknowledges from Slack; the
// report of the escalation is delivered after the acknowledgement, before
// or after PagerDuty's report of the acknowledgement itself. The page stays
// acknowledged: the escalation, older, is recorded off the channel, and the
// acknowledgement is said once.
func TestEscalationDeliveredAfterASlackAcknowledgementChangesNothing(t *testing.T) {
	t.Parallel()
	for _, skew := range skews {
		for _, echoFirst := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, echo first %v", skewName(skew), echoFirst), func(t *testing.T) {
				t.Parallel()
				b, fake, url, pdInc, inc := skewedSetup(t, skew)
				ctx := context.Background()

				advance(t, b, 5*time.Minute)
				escalatedAt := b.clock.Now().Add(skew - time.Minute) // PagerDuty's time
				require.NoError(t, b.pg.AcknowledgePage(ctx, pageKey, "U0KIM", incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: "U0KIM"}))
				require.Empty(t, b.queue.RunAll(t))
				got, ok := fake.Incident(pdInc)
				require.True(t, ok)
				require.Equal(t, "acknowledged", got.Status)
				if echoFirst {
					fake.DeliverWebhooks(ctx)
				}
				deliver(t, fake, url, "incident.escalated", pdInc, "", "01ESCALATED", escalatedAt, pdfake.WithAssignees("Carol Poe"))
				fake.DeliverWebhooks(ctx)
				require.Empty(t, b.queue.RunAll(t))
				require.Equal(t, []string{"incident.triggered", "incident.acknowledged"}, deliveredOK(t, fake))

				require.Equal(t, "acknowledged", pageStatus(t, b))
				posts := b.chat.PostsIn(inc.ChannelID)
				lines, events := countAcks(t, b, inc)
				require.Len(t, lines, 1, "%q", posts)
				require.Contains(t, lines[0], "Acknowledged by <@U0KIM>")
				require.Equal(t, 1, events)
				require.Empty(t, postsContaining(b.chat, inc.ChannelID, "escalated"), "%q", posts)
				require.True(t, hasSource(t, b, inc, "pd:01ESCALATED"), "recorded on the timeline")
				page, err := b.store.FindPage(ctx, "pagerduty", pageKey)
				require.NoError(t, err)
				require.Equal(t, []string{"Bob Roe"}, page.Assignees, "the escalation's people are not the page's")
				require.NotNil(t, page.StatusAt)
				require.Equal(t, escalatedAt.Add(time.Minute).Truncate(time.Second), page.StatusAt.UTC(), "PagerDuty's time of the acknowledgement")
			})
		}
	}
}

// TestPagerDutyReportAfterASlackAcknowledgementIsApplied: Kim acknowledges
// from Slack, and half a minute later by PagerDuty's clock the
// acknowledgement is undone (PagerDuty's acknowledgement timeout, made
// short); the report of it is applied however far the bot's clock is
// from PagerDuty's, delivered before or after the report of the
// acknowledgement.
func TestPagerDutyReportAfterASlackAcknowledgementIsApplied(t *testing.T) {
	t.Parallel()
	for _, skew := range skews {
		for _, echoFirst := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, echo first %v", skewName(skew), echoFirst), func(t *testing.T) {
				t.Parallel()
				b, fake, url, pdInc, inc := skewedSetup(t, skew)
				ctx := context.Background()

				advance(t, b, 3*time.Minute)
				ackedAt := b.clock.Now().Add(skew)
				require.NoError(t, b.pg.AcknowledgePage(ctx, pageKey, "U0KIM", incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: "U0KIM"}))
				require.Empty(t, b.queue.RunAll(t))
				if echoFirst {
					fake.DeliverWebhooks(ctx)
				}
				advance(t, b, time.Minute)
				deliver(t, fake, url, "incident.unacknowledged", pdInc, "", "01UNACKED", ackedAt.Add(30*time.Second))
				fake.DeliverWebhooks(ctx)
				require.Empty(t, b.queue.RunDue(t, b.clock.Now()))

				require.Equal(t, "triggered", pageStatus(t, b), "the acknowledgement timed out")
				posts := b.chat.PostsIn(inc.ChannelID)
				require.Len(t, postsContaining(b.chat, inc.ChannelID, "unacknowledged"), 1, "%q", posts)
				lines, events := countAcks(t, b, inc)
				require.Len(t, lines, 1, "the acknowledgement is said once: %q", posts)
				require.Equal(t, 1, events)
			})
		}
	}
}

// TestBotResolutionIsOrderedByPagerDutysTime: the incident is resolved, so
// the bot resolves its page in PagerDuty; a minute later by PagerDuty's
// clock on-call opens it again from the phone. The reopening is applied
// whatever the skew: it is compared with PagerDuty's time of the bot's
// resolution, not with the bot's.
func TestBotResolutionIsOrderedByPagerDutysTime(t *testing.T) {
	t.Parallel()
	for _, skew := range skews {
		t.Run(skewName(skew), func(t *testing.T) {
			t.Parallel()
			b, fake, _, pdInc, inc := skewedSetup(t, skew)
			ctx := context.Background()

			advance(t, b, 3*time.Minute)
			_, err := b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "fixed")
			require.NoError(t, err)
			require.Empty(t, b.queue.RunAll(t))
			resolvedAt := b.clock.Now().Add(skew)
			page, err := b.store.FindPage(ctx, "pagerduty", pageKey)
			require.NoError(t, err)
			require.Equal(t, "resolved", page.Status)
			require.NotNil(t, page.ResolvedAt)
			require.Equal(t, resolvedAt, page.ResolvedAt.UTC(), "PagerDuty's time of the resolution")

			advance(t, b, time.Minute)
			onPhone(t, fake, pdInc, "bob@example.com", "acknowledged") // reopens it
			fake.DeliverWebhooks(ctx)
			require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
			require.Equal(t, []string{"incident.triggered", "incident.resolved", "incident.reopened", "incident.acknowledged"}, deliveredOK(t, fake))

			got, ok := fake.Incident(pdInc)
			require.True(t, ok)
			require.Equal(t, "acknowledged", got.Status)
			require.Equal(t, "acknowledged", pageStatus(t, b), "as PagerDuty has it")
		})
	}
}

// TestAcknowledgementReportedBeforeTheBotRecordsItsEscalationStands: the
// bot escalates a page nobody acknowledged, and Carol, paged by it,
// acknowledges it at once; PagerDuty reports both before it answers the
// escalation. The acknowledgement stands when the bot records its
// escalation: the escalation came first by PagerDuty's clock.
func TestAcknowledgementReportedBeforeTheBotRecordsItsEscalationStands(t *testing.T) {
	t.Parallel()
	for _, skew := range skews {
		t.Run(skewName(skew), func(t *testing.T) {
			t.Parallel()
			b, fake := pdSkewedSetupOn(t, storeMemory, pdfake.WebhooksBeforeAnswer, skew)
			ctx := context.Background()
			bot := pagerduty.NewWebhookHandler([]string{echoSecret}, b.pg.HandlePageEvent, nil)
			var once sync.Once
			ackErr := make(chan error, 1)
			relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, err := io.ReadAll(r.Body)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				if strings.Contains(string(body), `"incident.escalated"`) {
					// Carol acknowledges a second after she is paged;
					// PagerDuty delivers that before the escalation's report.
					once.Do(func() {
						b.clock.Advance(time.Second)
						ackErr <- phoneUpdate(ctx, fake, fake.Incidents()[0].ID, "carol@example.com", "acknowledged")
					})
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
				bot.ServeHTTP(w, r)
			}))
			t.Cleanup(relay.Close)
			fake.SetWebhooks(pdfake.Webhooks{URL: relay.URL + "/webhooks/pagerduty", Secret: echoSecret, When: pdfake.WebhooksBeforeAnswer})
			inc := readyAt(t, b, incident.P2)
			require.Empty(t, b.queue.RunDue(t, b.clock.Now()))

			advance(t, b, 61*time.Minute) // past the P2 response target: the bot escalates
			select {
			case err := <-ackErr:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("the bot did not escalate the page at the response target")
			}
			advance(t, b, 5*time.Second) // the report held while the bot escalated
			require.Equal(t, []string{"incident.triggered", "incident.acknowledged", "incident.escalated"}, deliveredOK(t, fake))

			got, ok := fake.Incident(fake.Incidents()[0].ID)
			require.True(t, ok)
			require.Equal(t, "acknowledged", got.Status)
			require.Equal(t, "acknowledged", pageStatus(t, b), "as PagerDuty has it")
			posts := b.chat.PostsIn(inc.ChannelID)
			require.Len(t, postsContaining(b.chat, inc.ChannelID, "so I escalated it in PagerDuty to the next level, now paging Carol Poe"), 1, "%q", posts)
			require.Len(t, postsContaining(b.chat, inc.ChannelID, "Acknowledged by Carol Poe"), 1, "%q", posts)
			require.Empty(t, postsContaining(b.chat, inc.ChannelID, "PagerDuty escalated the page"), "%q", posts)
			page, err := b.store.FindPage(ctx, "pagerduty", pageKey)
			require.NoError(t, err)
			require.Equal(t, []string{"Carol Poe"}, page.Assignees)
		})
	}
}

// phoneUpdate is onPhone for a goroutine other than the test's.
func phoneUpdate(ctx context.Context, fake *pdfake.Server, incidentID, email, status string) error {
	body := `{"incident":{"type":"incident_reference","status":"` + status + `"}}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, fake.URL()+"/incidents/"+incidentID, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Token token="+fake.Token())
	req.Header.Set("Accept", "application/vnd.pagerduty+json;version=2")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("From", email)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT /incidents/%s: %d", incidentID, resp.StatusCode)
	}
	return nil
}
