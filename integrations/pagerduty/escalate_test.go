package pagerduty_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/outbound"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

func TestPageBodyLeadsWithTheRunbookAndTheChannel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req := b.request(b.rest)
	req.Runbook = "https://runbooks.example.com/checkout"
	req.Link = "https://slack.com/app_redirect?channel=C042"
	_, err := b.client.Page(t.Context(), req)
	require.NoError(t, err)
	inc := b.fake.Incidents()[0]
	require.Equal(t, "Runbook: https://runbooks.example.com/checkout\nIncident channel: https://slack.com/app_redirect?channel=C042\n\nPayments fail with 502.", inc.Details)

	ev := setup(t, func(c *pagerduty.Config) { c.Token = "" })
	req = ev.request(ev.events)
	req.Runbook = "https://runbooks.example.com/search"
	_, err = ev.client.Page(t.Context(), req)
	require.NoError(t, err)
	require.Equal(t, "https://runbooks.example.com/search", ev.fake.Events()[0].CustomDetails["runbook"])
}

func TestEscalateMovesThePageToTheNextLevel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	page, err := b.client.Page(t.Context(), b.request(b.rest))
	require.NoError(t, err)
	require.Equal(t, []string{"Bob Primary"}, page.Assignees)

	emails, err := b.client.Responders(t.Context(), *page)
	require.NoError(t, err)
	require.Equal(t, []string{"bob@example.com"}, emails, "the people the page reached")

	level, err := b.client.NextEscalationLevel(t.Context(), *page)
	require.NoError(t, err)
	require.Equal(t, 2, level)
	require.Empty(t, callsTo(b.fake, http.MethodPut, "/incidents"), "deciding the level changes nothing")
	b.clock.Advance(2 * time.Minute)
	up, escalated, err := b.client.EscalateTo(t.Context(), *page, level)
	require.NoError(t, err)
	require.True(t, escalated)
	require.Equal(t, []string{"Carol Backup"}, up.Assignees)
	require.NotNil(t, up.StatusAt, "PagerDuty's time of the escalation")
	require.Equal(t, t0.Add(2*time.Minute), *up.StatusAt)
	require.Equal(t, page.DedupKey, up.DedupKey)
	inc, ok := b.fake.Incident(page.ExternalID)
	require.True(t, ok)
	require.Equal(t, []string{b.bob.ID, b.carol.ID}, inc.Notified, "PagerDuty notified level 2")
	require.Equal(t, 2, inc.EscalationLevel)
	puts := callsTo(b.fake, http.MethodPut, "/incidents")
	require.Len(t, puts, 1)
	require.Equal(t, "bot@example.com", puts[0].From)

	emails, err = b.client.Responders(t.Context(), *up)
	require.NoError(t, err)
	require.Equal(t, []string{"carol@example.com"}, emails)

	// Asked again, for the same level or one below: nothing changes.
	for _, again := range []int{2, 1} {
		same, escalated, err := b.client.EscalateTo(t.Context(), *up, again)
		require.NoError(t, err)
		require.False(t, escalated, "level %d", again)
		require.Equal(t, []string{"Carol Backup"}, same.Assignees)
	}
	require.Len(t, callsTo(b.fake, http.MethodPut, "/incidents"), 1)

	// Nobody above level 2.
	_, err = b.client.NextEscalationLevel(t.Context(), *up)
	require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(err), "%v", err)
	require.True(t, strings.HasPrefix(incident.ErrorMessage(err), "Nobody is on call at level 3"))
	_, _, err = b.client.EscalateTo(t.Context(), *up, 3)
	require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(err), "%v", err)
	_, _, err = b.client.EscalateTo(t.Context(), *up, 0)
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err), "%v", err)
}

// TestEscalateToALevelAgainAfterALostAnswer: PagerDuty escalates the
// incident and then answers 500, every time the outbound client sends the
// PUT (it may send it again: the method is idempotent and the level in it
// absolute). The caller sees PagerDuty unavailable; asking again for the
// same level finds the incident there and changes nothing, where asking
// for the next level would wake level 3.
func TestEscalateToALevelAgainAfterALostAnswer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dan := b.fake.AddUser(pdfake.User{Name: "Dan Third", Email: "dan@example.com"})
	b.fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: b.policyID, Level: 3, UserID: dan.ID})
	page, err := b.client.Page(t.Context(), b.request(b.rest))
	require.NoError(t, err)
	level, err := b.client.NextEscalationLevel(t.Context(), *page)
	require.NoError(t, err)
	require.Equal(t, 2, level)

	b.fake.FailNextUpdateAfterEffect(outbound.DefaultMaxAttempts, http.StatusInternalServerError)
	_, _, err = b.client.EscalateTo(t.Context(), *page, level)
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err), "%v", err)
	inc, _ := b.fake.Incident(page.ExternalID)
	require.Equal(t, 2, inc.EscalationLevel, "it took effect")
	puts := len(callsTo(b.fake, http.MethodPut, "/incidents"))
	require.Equal(t, outbound.DefaultMaxAttempts, puts)

	up, escalated, err := b.client.EscalateTo(t.Context(), *page, level)
	require.NoError(t, err)
	require.False(t, escalated)
	require.Equal(t, []string{"Carol Backup"}, up.Assignees)
	inc, _ = b.fake.Incident(page.ExternalID)
	require.Equal(t, 2, inc.EscalationLevel)
	require.Equal(t, []string{b.bob.ID, b.carol.ID}, inc.Notified, "level 3 never notified")
	require.Len(t, callsTo(b.fake, http.MethodPut, "/incidents"), puts, "nothing more asked of PagerDuty")
}

func TestEscalateRefusesAPageSentWithARoutingKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	page, err := b.client.Page(t.Context(), b.request(b.events))
	require.NoError(t, err)
	_, err = b.client.NextEscalationLevel(t.Context(), *page)
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
	_, _, err = b.client.EscalateTo(t.Context(), *page, 2)
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))

	// Who it reached: level 1 of the service's escalation policy.
	b.events.PagerDuty.EscalationPolicy = b.policyID
	emails, err := b.client.Responders(t.Context(), *page)
	require.NoError(t, err)
	require.Equal(t, []string{"bob@example.com"}, emails)

	noToken := setup(t, func(c *pagerduty.Config) { c.Token = "" })
	_, err = noToken.client.Responders(t.Context(), *page)
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
}
