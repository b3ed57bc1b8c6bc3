package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestTimelineNamesTheAPIToken: a change made through an API token is its
// person's, and its timeline lines name the token too, so that what an
// integration did can be told from what the person did by hand; a change
// the person makes themself says nothing of a token. A token's name is
// text its creator chose, kept in the timeline's markup as any other.
func TestTimelineNamesTheAPIToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t, withAdmin("U0BOB"))
	admin := f.browser()
	admin.signIn(f.alice)
	tok := createToken(t, admin, "deploy <sync> & co", "write", f.alice.ID)
	inc := f.openIncident(t, "search is slow")
	status, body := apiCall(t, f, tok, http.MethodPatch, "/api/v1/incidents/"+itoa(inc.Number), `{"severity":"P2","status":"mitigated"}`)
	require.Equal(t, http.StatusOK, status, body)
	status, body = apiCall(t, f, tok, http.MethodPost, "/api/v1/incidents", `{"title":"db down","severity":"P3"}`)
	require.Equal(t, http.StatusCreated, status, body)
	update := `{"known":"deploy 1234 rolled back","idempotency_key":"roll-1234"}`
	status, body = apiCall(t, f, tok, http.MethodPost, "/api/v1/incidents/"+itoa(inc.Number)+"/updates", update)
	require.Equal(t, http.StatusCreated, status, body)
	status, body = apiCall(t, f, tok, http.MethodPost, "/api/v1/incidents/"+itoa(inc.Number)+"/updates", update)
	require.Equal(t, http.StatusOK, status, "a retry with the same key is the same update: %s", body)
	updates, err := f.store.ListStatusUpdates(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, updates, 1)
	require.Equal(t, "deploy 1234 rolled back", updates[0].Text, "the words are the update's, the token is not")

	events, err := f.store.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	var made []string
	for _, ev := range events {
		switch ev.Kind {
		case incident.EventSeverityChanged, incident.EventStatusChanged, incident.EventUpdatePosted:
			made = append(made, ev.Text)
			require.Equal(t, f.alice.ID, ev.Actor, "the change is the token's person's")
		case incident.EventDeclared:
			require.NotContains(t, ev.Text, "API token", "declared in Slack by hand: %q", ev.Text)
		}
	}
	require.Len(t, made, 3, "a severity, a status and an update line: %q", made)
	for _, text := range made {
		require.True(t, strings.HasSuffix(text, " (through the API token “deploy &lt;sync&gt; &amp; co”)"), "%q", text)
	}
	incs, err := f.store.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	var declared *incident.Incident
	for _, i := range incs {
		if i.Title == "db down" {
			declared = i
		}
	}
	require.NotNil(t, declared)
	events, err = f.store.ListTimeline(ctx, declared.ID)
	require.NoError(t, err)
	require.Equal(t, incident.EventDeclared, events[0].Kind)
	require.Contains(t, events[0].Text, "(through the API token “deploy &lt;sync&gt; &amp; co”)")
}
