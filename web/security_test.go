package web_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHiddenIncidentAnswersLikeAMissingOne: asking for a private incident
// one may not see answers exactly as asking for one that does not exist,
// on the pages and in the API, so the answer cannot tell that it exists.
func TestHiddenIncidentAnswersLikeAMissingOne(t *testing.T) {
	t.Parallel()
	f := setup(t)
	alice, bob := f.browser(), f.browser()
	alice.signIn(f.alice)
	bob.signIn(f.bob)
	hidden, missing := itoa(f.private.Number), "999"
	message := regexp.MustCompile(`id="error-message">([^<]*)<`)

	for _, suffix := range []string{"", "/timeline.csv", "/postmortem.md"} {
		resp, page := bob.get("/incidents/" + hidden + suffix)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		gotHidden := message.FindStringSubmatch(page)
		resp, page = bob.get("/incidents/" + missing + suffix)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		gotMissing := message.FindStringSubmatch(page)
		require.NotNil(t, gotHidden)
		require.NotNil(t, gotMissing)
		require.Equal(t, "Incident INC-"+hidden+" was not found.", gotHidden[1], suffix)
		require.Equal(t, "Incident INC-"+missing+" was not found.", gotMissing[1], "a missing incident says the same: %s", suffix)
	}

	token := createToken(t, alice, "bob's dashboards", "write", f.bob.ID)
	var refusal struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	for _, call := range []struct{ method, path, body string }{
		{http.MethodGet, "", ""}, {http.MethodGet, "/timeline", ""}, {http.MethodGet, "/follow-ups", ""},
		{http.MethodPatch, "", `{"severity":"P1"}`},
	} {
		var got []string
		for _, n := range []string{hidden, missing} {
			status, body := apiCall(t, f, token, call.method, "/api/v1/incidents/"+n+call.path, call.body)
			require.Equal(t, http.StatusNotFound, status, body)
			require.NoError(t, json.Unmarshal([]byte(body), &refusal))
			got = append(got, refusal.Error.Code+": "+refusal.Error.Message)
		}
		require.Equal(t, "not_found: Incident INC-"+hidden+" was not found.", got[0], call.method+" "+call.path)
		require.Equal(t, "not_found: Incident INC-"+missing+" was not found.", got[1], call.method+" "+call.path)
	}
}
