package web_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestTimelineCSVReadsAsThePage: a channel message is stored as Slack
// keeps it (mentions as ids, escapes, links with labels); the timeline
// CSV gives its words as the incident page shows them, with the actor's
// name beside the id, not "<@U0ALICE> p99 &lt; 2s".
func TestTimelineCSVReadsAsThePage(t *testing.T) {
	t.Parallel()
	f := setup(t)
	require.NoError(t, f.store.AddTimelineEvent(context.Background(), &incident.TimelineEvent{IncidentID: f.public.ID,
		Kind: incident.EventMessage, Actor: f.bob.ID, At: f.public.DeclaredAt.Add(time.Minute),
		Text:     "<@U0ALICE> p99 &lt; 2s &amp; falling, see <https://grafana.example/d/1|the dashboard>",
		SourceID: "msg:1711800060.000100", Payload: incident.MessageData{TS: "1711800060.000100"}}))
	b := f.browser()
	b.signIn(f.bob)
	resp, body := b.get("/incidents/" + itoa(f.public.Number) + "/timeline.csv")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"at", "kind", "actor", "key", "text", "deleted", "actor_name"}, rows[0])
	var row []string
	for _, r := range rows[1:] {
		if r[1] == string(incident.EventMessage) {
			row = r
		}
	}
	require.NotNil(t, row, "the message is in the CSV: %q", rows)
	require.Equal(t, "U0BOB", row[2])
	require.Equal(t, "Bob Bystander", row[6])
	require.Equal(t, "'@Alice Admin p99 < 2s & falling, see the dashboard", row[4], "as the page shows it (the leading @ quoted against formulas)")
}
