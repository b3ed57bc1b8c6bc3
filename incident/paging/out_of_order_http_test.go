package paging_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// onPhone changes a PagerDuty incident as its user would from the
// PagerDuty app: a REST update From their e-mail.
func onPhone(t *testing.T, fake *pdfake.Server, incidentID, email, status string) {
	t.Helper()
	body := `{"incident":{"type":"incident_reference","status":"` + status + `"}}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, fake.URL()+"/incidents/"+incidentID, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Token token="+fake.Token())
	req.Header.Set("Accept", "application/vnd.pagerduty+json;version=2")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("From", email)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// deliver posts one v3 webhook about the PagerDuty incident to the bot's
// webhook handler and requires a 2xx.
func deliver(t *testing.T, fake *pdfake.Server, url, eventType, incidentID, agent, eventID string, at time.Time, opts ...pdfake.WebhookOption) {
	t.Helper()
	opts = append(opts, pdfake.WithEventID(eventID), pdfake.WithOccurredAt(at))
	resp, err := fake.SendWebhook(t.Context(), url, echoSecret, eventType, incidentID, agent, opts...)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s accepted", eventType)
}

// outOfOrderSetup pages Checkout for a P2 through pdfake and returns the
// bundle, the fake, the URL of the bot's webhook handler, the PagerDuty
// incident and when it was paged. The fake's own webhooks are held and
// never delivered: each test delivers its own, in the order it wants.
func outOfOrderSetup(t *testing.T) (bundle, *pdfake.Server, string, string, *incident.Incident, time.Time) {
	t.Helper()
	b, fake := pdEchoSetup(t, pdfake.WebhooksHeld)
	inc := readyAt(t, b, incident.P2)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	incidents := fake.Incidents()
	require.Len(t, incidents, 1)
	hooks := httptest.NewServer(pagerduty.NewWebhookHandler([]string{echoSecret}, b.pg.HandlePageEvent, nil))
	t.Cleanup(hooks.Close)
	return b, fake, hooks.URL + "/webhooks/pagerduty", incidents[0].ID, inc, b.clock.Now()
}

// TestResolvedBeforeEscalatedStaysResolved: PagerDuty escalates a page
// nobody acknowledged, then on-call resolves it from the phone; the
// resolution is delivered first and the escalation after it. The page
// stays resolved: nobody is invited for it, and the bot neither escalates
// it nor pages the service again when the response target passes.
func TestResolvedBeforeEscalatedStaysResolved(t *testing.T) {
	t.Parallel()
	b, fake, url, pdInc, inc, t0 := outOfOrderSetup(t)

	advance(t, b, 35*time.Minute)
	onPhone(t, fake, pdInc, "bob@example.com", "resolved")
	deliver(t, fake, url, "incident.resolved", pdInc, "Bob Roe", "01RESOLVED", t0.Add(35*time.Minute))
	deliver(t, fake, url, "incident.escalated", pdInc, "", "01ESCALATED", t0.Add(30*time.Minute), pdfake.WithAssignees("Carol Poe"))
	require.Equal(t, "resolved", pageStatus(t, b))

	calls := len(fake.Calls())
	advance(t, b, 30*time.Minute) // past the P2 response target
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	require.Equal(t, "resolved", pageStatus(t, b))
	require.Len(t, fake.Incidents(), 1, "the service is not paged again")
	got, ok := fake.Incident(pdInc)
	require.True(t, ok)
	require.Equal(t, "resolved", got.Status)
	posts := b.chat.PostsIn(inc.ChannelID)
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "resolved in PagerDuty by Bob Roe"), 1, "%q", posts)
	require.Empty(t, postsContaining(b.chat, inc.ChannelID, "escalated"), "%q", posts)
	require.Empty(t, postsContaining(b.chat, inc.ChannelID, "Re-page"), "%q", posts)
	for _, c := range fake.Calls()[calls:] {
		require.NotEqual(t, http.MethodPut, c.Method, "no escalation of a resolved incident: %s %s", c.Method, c.Path)
	}
}

// TestResolvedBeforeAcknowledgedStaysResolved: on-call acknowledges from
// the phone and resolves a minute later; the resolution is delivered
// first. The acknowledgement is recorded once (it counts for the time to
// acknowledge), and the page stays resolved, so the incident's resolution
// does not resolve it again.
func TestResolvedBeforeAcknowledgedStaysResolved(t *testing.T) {
	t.Parallel()
	b, fake, url, pdInc, inc, t0 := outOfOrderSetup(t)
	ctx := context.Background()

	advance(t, b, 4*time.Minute)
	onPhone(t, fake, pdInc, "bob@example.com", "acknowledged")
	onPhone(t, fake, pdInc, "bob@example.com", "resolved")
	deliver(t, fake, url, "incident.resolved", pdInc, "Bob Roe", "01RESOLVED", t0.Add(4*time.Minute))
	deliver(t, fake, url, "incident.acknowledged", pdInc, "Bob Roe", "01ACKED", t0.Add(3*time.Minute))
	deliver(t, fake, url, "incident.acknowledged", pdInc, "Bob Roe", "01ACKED", t0.Add(3*time.Minute)) // a redelivery
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))

	require.Equal(t, "resolved", pageStatus(t, b))
	lines, events := countAcks(t, b, inc)
	require.Len(t, lines, 1, "%q", lines)
	require.Equal(t, 1, events)
	got, err := b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.NotNil(t, got.AcknowledgedAt)
	require.Equal(t, t0.Add(3*time.Minute), got.AcknowledgedAt.UTC())

	calls := len(fake.Calls())
	_, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "fixed")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	for _, c := range fake.Calls()[calls:] {
		require.NotEqual(t, http.MethodPut, c.Method, "the page is resolved already: %s %s", c.Method, c.Path)
	}
}

// TestAcknowledgeButtonOfAResolvedPageIsRefused: the page's Acknowledge
// button stays in the channel after on-call resolved the page in
// PagerDuty. A click then is answered that the page is resolved, and
// PagerDuty is not asked: acknowledging a resolved incident there would
// open it again, with nobody left to resolve it.
func TestAcknowledgeButtonOfAResolvedPageIsRefused(t *testing.T) {
	t.Parallel()
	b, fake, url, pdInc, inc, t0 := outOfOrderSetup(t)
	ctx := context.Background()

	advance(t, b, 4*time.Minute)
	onPhone(t, fake, pdInc, "bob@example.com", "resolved")
	deliver(t, fake, url, "incident.resolved", pdInc, "Bob Roe", "01RESOLVED", t0.Add(4*time.Minute))
	require.Equal(t, "resolved", pageStatus(t, b))

	calls := len(fake.Calls())
	err := b.pg.AcknowledgePage(ctx, pageKey, "U0KIM", incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: "U0KIM"})
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "%v", err)
	require.Contains(t, incident.ErrorMessage(err), "resolved")
	require.Empty(t, b.queue.RunAll(t))
	for _, c := range fake.Calls()[calls:] {
		require.NotEqual(t, http.MethodPut, c.Method, "PagerDuty is not asked: %s %s", c.Method, c.Path)
	}
	got, ok := fake.Incident(pdInc)
	require.True(t, ok)
	require.Equal(t, "resolved", got.Status)
	require.Equal(t, "resolved", pageStatus(t, b))
	lines, _ := countAcks(t, b, inc)
	require.Empty(t, lines)
}

// TestAcknowledgeClickedJustBeforeTheResolutionIsNotSent: the click is
// taken while the page is open, and the resolution is recorded before the
// acknowledgement reaches PagerDuty; the person is told, and PagerDuty is
// not asked.
func TestAcknowledgeClickedJustBeforeTheResolutionIsNotSent(t *testing.T) {
	t.Parallel()
	b, fake, url, pdInc, inc, t0 := outOfOrderSetup(t)
	ctx := context.Background()

	advance(t, b, 4*time.Minute)
	require.NoError(t, b.pg.AcknowledgePage(ctx, pageKey, "U0KIM", incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: "U0KIM"}))
	onPhone(t, fake, pdInc, "bob@example.com", "resolved")
	deliver(t, fake, url, "incident.resolved", pdInc, "Bob Roe", "01RESOLVED", t0.Add(4*time.Minute))

	calls := len(fake.Calls())
	require.Empty(t, b.queue.RunAll(t))
	for _, c := range fake.Calls()[calls:] {
		require.NotEqual(t, http.MethodPut, c.Method, "PagerDuty is not asked: %s %s", c.Method, c.Path)
	}
	got, ok := fake.Incident(pdInc)
	require.True(t, ok)
	require.Equal(t, "resolved", got.Status)
	require.Equal(t, "resolved", pageStatus(t, b))
	lines, _ := countAcks(t, b, inc)
	require.Empty(t, lines)
	b.chat.Mu.Lock()
	replies := strings.Join(b.chat.Replies, "\n")
	b.chat.Mu.Unlock()
	require.Contains(t, replies, "resolved")
}
