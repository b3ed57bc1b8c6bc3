package bot

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// TestListSaysWhenMoreAreOpen: /incident list shows at most the ListLimit
// most severe open incidents and says when more are open, rather than
// counting only those shown; titles full of characters Slack needs escaped
// end the list early rather than pushing the answer over a message's
// 40,000 characters.
func TestListSaysWhenMoreAreOpen(t *testing.T) {
	tr := newTransport(t)
	ctx := context.Background()
	add := func(n int, sev incident.Severity, title string) {
		for range n {
			_, err := tr.store.CreateIncident(ctx, incidenttest.NewIncident(func(i *incident.Incident) {
				i.Title, i.Severity, i.DeclaredBy = title, sev, tr.ic.ID
			}))
			require.NoError(t, err)
		}
	}
	lines := func(body string) int { return strings.Count(body, "• *INC-") }

	r := tr.command(t, tr.ic.ID, tr.inc.ChannelID, "list")
	require.Contains(t, string(r.Body), "*Open incidents* (1)")

	add(incident.ListLimit, incident.P3, "search is slow")
	r = tr.command(t, tr.ic.ID, tr.inc.ChannelID, "list")
	require.Contains(t, string(r.Body), "*Open incidents*: the 50 most severe are shown; more are open.")
	require.Equal(t, incident.ListLimit, lines(string(r.Body)))
	require.Contains(t, string(r.Body), tr.inc.Key(), "the P1 comes first")

	add(incident.ListLimit, incident.P2, strings.Repeat("&", incident.MaxTitleLength))
	r = tr.command(t, tr.ic.ID, tr.inc.ChannelID, "list") // held to Slack's limits by command
	n := lines(string(r.Body))
	require.Less(t, n, incident.ListLimit, "the escaped titles fill the message first")
	require.Contains(t, string(r.Body), "the "+strconv.Itoa(n)+" most severe are shown; more are open.")
}
