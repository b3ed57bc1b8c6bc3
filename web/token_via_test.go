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

	events, err := f.store.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	var made []string
	for _, ev := range events {
		switch ev.Kind {
		case incident.EventSeverityChanged, incident.EventStatusChanged:
			made = append(made, ev.Text)
			require.Equal(t, f.alice.ID, ev.Actor, "the change is the token's person's")
		case incident.EventDeclared:
			require.NotContains(t, ev.Text, "API token", "declared in Slack by hand: %q", ev.Text)
		}
	}
	require.Len(t, made, 2, "%q", made)
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
