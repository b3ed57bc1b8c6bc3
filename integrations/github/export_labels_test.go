package github_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// labelDroppingSetup exports to docsRepo in issue mode with action item
// issues, through a token whose user may open issues but has no push
// access, so GitHub silently drops the labels the bot asks for.
func labelDroppingSetup(t *testing.T, opts ...func(*github.Config)) bundle {
	t.Helper()
	b := setupFake(t, []ghfake.Option{ghfake.WithoutPushAccess()}, append([]func(*github.Config){func(c *github.Config) {
		c.ExportRepo, c.ExportMode, c.ActionItemIssues = docsRepo, "issue", true
	}}, opts...)...)
	b.fake.AddRepo(docsRepo, "main", "")
	return b
}

func withActionItems(doc incident.PostmortemDoc) incident.PostmortemDoc {
	doc.ActionItems = []incident.ActionItem{
		{ID: 1, Text: "Add a canary for checkout"},
		{ID: 2, Text: "Alert on 5xx rate"},
	}
	return doc
}

func issueTitles(f *ghfake.Server) []string {
	var out []string
	for _, is := range f.Issues(docsRepo) {
		out = append(out, is.Title)
	}
	return out
}

var exportedTitles = []string{"Postmortem: INC-42 Checkout is down", "Add a canary for checkout", "Alert on 5xx rate"}

// GitHub drops the labels of a token without push access, so the bot's
// issues carry none; a re-export still finds every one of them, by its
// marker among the issues the bot opened, and opens none twice.
func TestReExportWithALabelDroppingTokenOpensNoSecondIssue(t *testing.T) {
	t.Parallel()
	b := labelDroppingSetup(t)

	ref, err := b.client.Export(t.Context(), withActionItems(postmortem("First draft.")), nil)
	require.NoError(t, err)
	require.Equal(t, exportedTitles, issueTitles(b.fake), "the first export opens the postmortem and one issue per item")
	for _, is := range b.fake.Issues(docsRepo) {
		require.Empty(t, is.Labels, "GitHub dropped the labels")
	}

	// The export job retries with no reference recorded (its answer was
	// lost), and again with it.
	again, err := b.client.Export(t.Context(), withActionItems(postmortem("Second draft.")), nil)
	require.NoError(t, err)
	require.Equal(t, ref.ID, again.ID, "the postmortem issue is found without its label")
	_, err = b.client.Export(t.Context(), withActionItems(postmortem("Third draft.")), &again)
	require.NoError(t, err)
	require.Equal(t, exportedTitles, issueTitles(b.fake), "no second postmortem issue and no second action item issue")
	require.True(t, strings.HasPrefix(b.fake.Issues(docsRepo)[0].Body, "Third draft."))
	require.Equal(t, 1, countCalls(b.fake, "GET /user"), "the bot's login is asked once")
}

// Only the bot's own issues count: an issue someone else opened with the
// bot's marker (and even its labels) neither stands in for the action
// item's issue nor gets the postmortem written into it.
func TestExportIgnoresMarkersInOtherPeoplesIssues(t *testing.T) {
	t.Parallel()
	b := exportSetup(t, "issue", true)
	doc := withActionItems(postmortem("Draft."))
	b.fake.AddIssue(docsRepo, ghfake.Issue{Title: "forged postmortem", User: "mallory", Labels: []string{"postmortem"},
		Body: "<!-- firebreak:postmortem:INC-42 -->"})
	b.fake.AddIssue(docsRepo, ghfake.Issue{Title: "forged item", User: "mallory", Labels: []string{"incident-follow-up"},
		Body: "<!-- firebreak:action-item:INC-42:1 -->"})

	_, err := b.client.Export(t.Context(), doc, nil)
	require.NoError(t, err)
	require.Equal(t, append([]string{"forged postmortem", "forged item"}, exportedTitles...), issueTitles(b.fake))
	require.Equal(t, "<!-- firebreak:postmortem:INC-42 -->", b.fake.Issues(docsRepo)[0].Body, "someone else's issue is left alone")
}

// identityRefused answers GET /user and the GraphQL viewer query with
// status, in GitHub's stead, as a GitHub that will not say who the token
// is (or cannot, for now) does.
type identityRefused struct {
	mu     sync.Mutex
	status int
}

func (a *identityRefused) RoundTrip(r *http.Request) (*http.Response, error) {
	a.mu.Lock()
	status := a.status
	a.mu.Unlock()
	if status == 0 || (r.URL.Path != "/user" && r.URL.Path != "/graphql") {
		return http.DefaultTransport.RoundTrip(r)
	}
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(`{"message":"refused"}`)), Request: r}, nil
}

// When GitHub will not say who the token is, the bot looks for its marker
// among every issue, so a label-dropping token still opens nothing twice;
// when GitHub is only down, the export fails to be retried, having opened
// nothing.
func TestReExportWithoutTheBotsLogin(t *testing.T) {
	t.Parallel()
	refuse := &identityRefused{status: http.StatusNotFound}
	b := labelDroppingSetup(t, func(c *github.Config) { c.HTTPClient = &http.Client{Transport: refuse} })

	_, err := b.client.Export(t.Context(), withActionItems(postmortem("First draft.")), nil)
	require.NoError(t, err)
	_, err = b.client.Export(t.Context(), withActionItems(postmortem("Second draft.")), nil)
	require.NoError(t, err)
	require.Equal(t, exportedTitles, issueTitles(b.fake))
	require.True(t, strings.HasPrefix(b.fake.Issues(docsRepo)[0].Body, "Second draft."))

	refuse.mu.Lock()
	refuse.status = http.StatusServiceUnavailable
	refuse.mu.Unlock()
	other := withActionItems(postmortem("Other."))
	other.IncidentKey = "INC-43"
	_, err = b.client.Export(t.Context(), other, nil)
	requireCode(t, err, incident.EUNAVAILABLE)
	require.Equal(t, exportedTitles, issueTitles(b.fake), "nothing opened while the bot's issues cannot be told apart")
}
