package web_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// An update's words sent through the API are plain text. They are stored
// as Slack stores what a person types (& < > escaped, ADR 0033 and 0056),
// so everything that reads stored text as Slack's markup shows them as
// written: Slack's message, the incident page, and the postmortem and
// status page (incident.PlainText). A "<@U0BOB>" or a disguised link typed
// through the API mentions nobody and hides no target anywhere.
func TestAPIUpdateTextShowsAsWrittenEverywhere(t *testing.T) {
	f := setup(t)
	admin := f.browser()
	admin.signIn(f.alice)
	write := createToken(t, admin, "ci", "write", "")
	inc := f.openIncident(t, "search latency")
	known := `<@U0BOB> approved the rollback; details <https://evil.example/x|status.example.com>; x &lt; y & <!channel>`
	doing := "watching p99 > 2s"
	body, err := json.Marshal(map[string]any{"known": known, "doing": doing, "idempotency_key": "deploy-42"})
	require.NoError(t, err)
	path := "/api/v1/incidents/" + itoa(inc.Number) + "/updates"
	status, answer := apiCall(t, f, write, http.MethodPost, path, string(body))
	require.Equal(t, http.StatusCreated, status, answer)
	var got struct {
		Update struct{ Known, Doing string } `json:"update"`
	}
	require.NoError(t, json.Unmarshal([]byte(answer), &got))
	require.Equal(t, known, got.Update.Known, "the answer gives the words back as sent")
	require.Equal(t, doing, got.Update.Doing)

	// Slack: every character shows as typed; no mention, no link.
	require.Empty(t, f.queue.Run(t, incident.JobSync))
	msgs := f.updateMessages(t, inc)
	require.NotEmpty(t, msgs)
	text := msgs[len(msgs)-1].Text
	require.Contains(t, text, "*What we know:* &lt;@U0BOB&gt; approved the rollback; details &lt;https://evil.example/x|status.example.com&gt;; x &amp;lt; y &amp; &lt;!channel&gt;\n")
	require.Contains(t, text, "*What we are doing:* watching p99 &gt; 2s\n")

	// The page: as written.
	_, page := admin.get("/incidents/" + itoa(inc.Number))
	i := strings.Index(page, `id="updates"`)
	require.Positive(t, i)
	row := html.UnescapeString(page[i:min(len(page), i+1000)])
	require.Contains(t, row, "What we know: "+known+"\nWhat we are doing: "+doing)
	tl := strings.Index(page, `id="timeline"`)
	require.Positive(t, tl)
	require.Contains(t, html.UnescapeString(page[tl:i]), known)

	// The postmortem and the status page read stored text with
	// incident.PlainText: the words as written, nobody named.
	updates, err := f.store.ListStatusUpdates(context.Background(), inc.ID)
	require.NoError(t, err)
	require.Len(t, updates, 1)
	named := false
	plain := incident.PlainText(updates[0].Text, func(string) string { named = true; return "Bob" })
	require.Equal(t, "What we know: "+known+"\nWhat we are doing: "+doing, plain)
	require.False(t, named)

	// A retry with the same key is the same update: nothing posted again.
	status, answer = apiCall(t, f, write, http.MethodPost, path, string(body))
	require.Equal(t, http.StatusOK, status, answer)
	require.NoError(t, json.Unmarshal([]byte(answer), &got))
	require.Equal(t, known, got.Update.Known)
	updates, err = f.store.ListStatusUpdates(context.Background(), inc.ID)
	require.NoError(t, err)
	require.Len(t, updates, 1)
}

// The update's limit counts the words as Slack writes them, & < > as
// &amp; &lt; &gt;, and the refusal says so.
func TestAPIUpdateLimitCountsTheWordsAsSlackWritesThem(t *testing.T) {
	f := setup(t)
	admin := f.browser()
	admin.signIn(f.alice)
	write := createToken(t, admin, "ci", "write", "")
	inc := f.openIncident(t, "search latency")
	known := strings.Repeat("a", 2700) + strings.Repeat("<", 40)
	body, err := json.Marshal(map[string]any{"known": known})
	require.NoError(t, err)
	status, answer := apiCall(t, f, write, http.MethodPost, "/api/v1/incidents/"+itoa(inc.Number)+"/updates", string(body))
	require.Equal(t, http.StatusBadRequest, status, answer)
	require.Contains(t, answer, `The field \"known\" is 2860 characters long (\u0026 \u003c \u003e count as`)
}
