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

// TestDeletedMessagesLeftOutOfPageAndCSV: a message deleted in the
// incident's channel is kept on the timeline for the record, but the
// incident page and the timeline CSV leave its words out, as the
// postmortem does: the page says "message deleted" in its place and the
// CSV marks the row deleted, and the API's timeline leaves its text empty.
// An edited message says so on the page.
func TestDeletedMessagesLeftOutOfPageAndCSV(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	add := func(sec int, text string, d incident.MessageData) {
		t.Helper()
		d.User, d.TS = f.bob.ID, "17118000"+itoa(int64(sec))+".000100"
		require.NoError(t, f.store.AddTimelineEvent(ctx, &incident.TimelineEvent{IncidentID: f.public.ID, Kind: incident.EventMessage,
			Actor: f.bob.ID, At: f.public.DeclaredAt.Add(time.Duration(sec) * time.Second), Text: text,
			SourceID: "msg:" + d.TS, Payload: d}))
	}
	add(10, "<@U0LEAKED> the customer list is at https://secret.example/dump", incident.MessageData{Deleted: true})
	add(20, "pool exhausted on db-3", incident.MessageData{Edited: true, EditedTS: "1711800025.000000"})
	add(30, "rolling back 4812", incident.MessageData{})

	b := f.browser()
	b.signIn(f.alice)
	resp, page := b.get("/incidents/" + itoa(f.public.Number))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotContains(t, page, "secret.example", "a deleted message's words are not shown")
	for _, c := range f.slack.CallsTo("users.info") {
		require.NotEqual(t, "U0LEAKED", c.Args.Get("user"), "nobody a deleted message mentions is looked up")
	}
	require.Contains(t, page, "message deleted")
	require.Contains(t, page, `pool exhausted on db-3 <span class="muted">(edited)</span>`)
	require.Contains(t, page, "rolling back 4812")
	require.NotContains(t, page, `rolling back 4812 <span class="muted">(edited)</span>`)

	resp, body := b.get("/incidents/" + itoa(f.public.Number) + "/timeline.csv")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotContains(t, body, "secret.example")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"at", "kind", "actor", "key", "text", "deleted", "actor_name"}, rows[0])
	byText := map[string][]string{}
	var deleted [][]string
	for _, row := range rows[1:] {
		require.Len(t, row, 7)
		if row[5] == "true" {
			deleted = append(deleted, row)
		}
		byText[row[4]] = row
	}
	require.Equal(t, [][]string{{f.public.DeclaredAt.Add(10 * time.Second).UTC().Format(time.RFC3339), "message", f.bob.ID, "false", "", "true", "Bob Bystander"}}, deleted, "%q", rows)
	require.Equal(t, "false", byText["pool exhausted on db-3"][5])
	require.Equal(t, "false", byText["rolling back 4812"][5])

	// The API's timeline keeps the event, marked deleted, without its words.
	token := createToken(t, b, "grafana", "read", "")
	status, js := apiCall(t, f, token, http.MethodGet, "/api/v1/incidents/"+itoa(f.public.Number)+"/timeline", "")
	require.Equal(t, http.StatusOK, status, js)
	require.NotContains(t, js, "secret.example")
	require.Contains(t, js, `"deleted":"true"`)
	require.Contains(t, js, "pool exhausted on db-3")
}
