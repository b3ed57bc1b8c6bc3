package pagerduty_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
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

	up, err := b.client.Escalate(t.Context(), *page)
	require.NoError(t, err)
	require.Equal(t, []string{"Carol Backup"}, up.Assignees)
	require.Equal(t, page.DedupKey, up.DedupKey)
	inc, ok := b.fake.Incident(page.ExternalID)
	require.True(t, ok)
	require.Equal(t, []string{b.bob.ID, b.carol.ID}, inc.Notified, "PagerDuty notified level 2")
	puts := callsTo(b.fake, http.MethodPut, "/incidents")
	require.Len(t, puts, 1)
	require.Equal(t, "bot@example.com", puts[0].From)

	emails, err = b.client.Responders(t.Context(), *up)
	require.NoError(t, err)
	require.Equal(t, []string{"carol@example.com"}, emails)

	// Nobody above level 2.
	_, err = b.client.Escalate(t.Context(), *up)
	require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(err), "%v", err)
	require.True(t, strings.HasPrefix(incident.ErrorMessage(err), "Nobody is on call at level 3"))
}

func TestEscalateRefusesAPageSentWithARoutingKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	page, err := b.client.Page(t.Context(), b.request(b.events))
	require.NoError(t, err)
	_, err = b.client.Escalate(t.Context(), *page)
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
