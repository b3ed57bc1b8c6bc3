package web_test

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// TestIncidentPageFactsMatchTheSlackPanel: the incident page names the
// service, the Incident Commander and each role as the incident's panel in
// Slack does: the service by the name the policy gives it, and each role
// under the panel's label, so a responder comparing the two reads the same.
func TestIncidentPageFactsMatchTheSlackPanel(t *testing.T) {
	t.Parallel()
	f := setup(t)
	policy := incident.DefaultPolicy()
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout"}}
	inc, err := f.store.CreateIncident(context.Background(), incidenttest.NewIncident(func(i *incident.Incident) {
		i.Title, i.Severity, i.Service, i.Status = "cart totals wrong", incident.P2, "checkout", incident.StatusInvestigating
		i.Commander, i.DeclaredBy, i.DeclaredAt = f.alice.ID, f.alice.ID, t0.Add(-time.Hour)
		i.Roles = map[string]string{incident.RoleComms: f.bob.ID, incident.RoleScribe: f.alice.ID}
	}))
	require.NoError(t, err)

	// What the panel in Slack says, label by label, mentions as names.
	names := map[string]string{f.alice.ID: f.alice.RealName, f.bob.ID: f.bob.RealName}
	mention := regexp.MustCompile(`<@([A-Z0-9]+)>`)
	panel := map[string]string{}
	for _, b := range bot.PanelBlocks(inc, policy) {
		s, ok := b.(*slack.SectionBlock)
		if !ok {
			continue
		}
		for _, field := range s.Fields {
			label, value, ok := strings.Cut(field.Text, "\n")
			require.True(t, ok, field.Text)
			value = mention.ReplaceAllStringFunc(value, func(m string) string { return names[mention.FindStringSubmatch(m)[1]] })
			panel[strings.Trim(label, "*")] = value
		}
	}
	require.Equal(t, "Checkout", panel["Service"], "the panel as this test reads it")

	b := f.browser()
	b.signIn(f.alice)
	resp, page := b.get("/incidents/" + itoa(inc.Number))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	facts := map[string]string{}
	for _, m := range regexp.MustCompile(`<dt>([^<]*)</dt><dd>([^<]*)</dd>`).FindAllStringSubmatch(page, -1) {
		facts[html.UnescapeString(m[1])] = html.UnescapeString(m[2])
	}
	for _, label := range []string{"Service", "Incident Commander", "Comms", "Scribe"} {
		require.Contains(t, panel, label)
		require.Equal(t, panel[label], facts[label], "%s: the page says what Slack says (page facts %v)", label, facts)
	}
}
