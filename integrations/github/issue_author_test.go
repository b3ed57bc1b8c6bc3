package github_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// exportedActionItem exports INC-42 with one action item (id 7) as an
// issue and returns the issue the bot opened for it.
func exportedActionItem(t *testing.T, b bundle) ghfake.Issue {
	t.Helper()
	doc := postmortem("Draft.")
	doc.ActionItems = []incident.ActionItem{{ID: 7, Text: "Add a canary for checkout", Owner: "U0ADA"}}
	_, err := b.client.Export(t.Context(), doc, nil)
	require.NoError(t, err)
	for _, is := range b.fake.Issues(docsRepo) {
		if is.Title == "Add a canary for checkout" {
			return is
		}
	}
	t.Fatal("no action item issue was opened")
	return ghfake.Issue{}
}

// Anyone who can open and close an issue can write the action-item
// marker. Only the bot's own issue in the export repository marks the item
// done: the same issue opened by someone else, or by the bot elsewhere,
// does not.
func TestWebhookIssueClosedOnlyForTheBotsOwnIssue(t *testing.T) {
	t.Parallel()
	b := exportSetup(t, "issue", true)
	mine := exportedActionItem(t, b)
	require.Equal(t, ghfake.DefaultLogin, mine.User)
	forged := b.fake.AddIssue(docsRepo, ghfake.Issue{Title: mine.Title, Body: mine.Body, Labels: mine.Labels, User: "mallory"})
	elsewhere := b.fake.AddIssue(repo, ghfake.Issue{Title: mine.Title, Body: mine.Body, Labels: mine.Labels})

	rec := &doneRecorder{}
	srv := httptest.NewServer(github.NewWebhookHandler(hookSecret, (&sinkRecorder{}).sink, nil,
		github.WithIssueClosed(rec.issueClosed), github.WithBotIdentity(b.client)))
	t.Cleanup(srv.Close)
	closeAndDeliver := func(r string, number int) {
		t.Helper()
		payload, err := b.fake.CloseIssue(r, number, "completed", "mallory")
		require.NoError(t, err)
		status, err := ghfake.SendWebhook(t.Context(), srv.URL, hookSecret, "issues", payload)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
	}

	closeAndDeliver(docsRepo, forged)
	closeAndDeliver(repo, elsewhere)
	require.Empty(t, rec.done, "an issue the bot did not open in the export repository marks nothing done")

	closeAndDeliver(docsRepo, mine.Number)
	require.Len(t, rec.done, 1)
	require.Contains(t, rec.done[0], "INC-42/7 ")
	require.Equal(t, 1, countCalls(b.fake, "GET /user"), "the bot's login is asked once")
}

// Without the bot's identity the handler cannot tell its issues from
// anyone's, so no closed issue marks an action item done.
func TestWebhookIssueClosedNeedsTheBotsIdentity(t *testing.T) {
	t.Parallel()
	b := exportSetup(t, "issue", true)
	mine := exportedActionItem(t, b)
	rec := &doneRecorder{}
	srv := httptest.NewServer(github.NewWebhookHandler(hookSecret, (&sinkRecorder{}).sink, nil, github.WithIssueClosed(rec.issueClosed)))
	t.Cleanup(srv.Close)

	payload, err := b.fake.CloseIssue(docsRepo, mine.Number, "completed", "ada")
	require.NoError(t, err)
	status, err := ghfake.SendWebhook(t.Context(), srv.URL, hookSecret, "issues", payload)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, rec.done)
}

// When GitHub cannot say who the bot is, the delivery fails (500) so that
// it can be delivered again, rather than being dropped or trusted.
func TestWebhookIssueClosedWhenTheBotsLoginIsUnknown(t *testing.T) {
	t.Parallel()
	b := exportSetup(t, "issue", true)
	mine := exportedActionItem(t, b)
	// The export learnt the bot's login; a bot started since has not.
	fresh, err := github.New(github.Config{APIURL: b.fake.URL(), Token: token, Clock: b.clock, ExportRepo: docsRepo, ExportMode: "issue"})
	require.NoError(t, err)
	rec := &doneRecorder{}
	srv := httptest.NewServer(github.NewWebhookHandler(hookSecret, (&sinkRecorder{}).sink, nil,
		github.WithIssueClosed(rec.issueClosed), github.WithBotIdentity(fresh)))
	t.Cleanup(srv.Close)
	payload, err := b.fake.CloseIssue(docsRepo, mine.Number, "completed", "ada")
	require.NoError(t, err)

	b.fake.FailNext(1, http.StatusServiceUnavailable)
	status, err := ghfake.SendWebhook(t.Context(), srv.URL, hookSecret, "issues", payload)
	require.NoError(t, err)
	require.Equal(t, http.StatusInternalServerError, status)
	require.Empty(t, rec.done)

	status, err = ghfake.SendWebhook(t.Context(), srv.URL, hookSecret, "issues", payload)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, rec.done, 1)
}

// A GitHub App installation's issues are opened by "<slug>[bot]". GitHub
// refuses GET /user to its token; GraphQL's viewer names the bot, and a
// person whose login looks like the app's is not it.
func TestWebhookIssueClosedForAnAppInstallationsIssue(t *testing.T) {
	t.Parallel()
	b := setupFake(t, []ghfake.Option{ghfake.WithAppInstallation("firebreak")}, func(c *github.Config) {
		c.ExportRepo, c.ExportMode, c.ActionItemIssues = docsRepo, "issue", true
	})
	b.fake.AddRepo(docsRepo, "main", "")
	mine := exportedActionItem(t, b)
	require.Equal(t, "firebreak[bot]", mine.User)
	lookalike := b.fake.AddIssue(docsRepo, ghfake.Issue{Title: mine.Title, Body: mine.Body, User: "firebreak"})

	rec := &doneRecorder{}
	srv := httptest.NewServer(github.NewWebhookHandler(hookSecret, (&sinkRecorder{}).sink, nil,
		github.WithIssueClosed(rec.issueClosed), github.WithBotIdentity(b.client)))
	t.Cleanup(srv.Close)
	for _, n := range []int{lookalike, mine.Number} {
		payload, err := b.fake.CloseIssue(docsRepo, n, "completed", "ada")
		require.NoError(t, err)
		status, err := ghfake.SendWebhook(t.Context(), srv.URL, hookSecret, "issues", payload)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
	}
	require.Len(t, rec.done, 1)
	require.Contains(t, rec.done[0], "/issues/"+strconv.Itoa(mine.Number))
	require.Equal(t, 1, countCalls(b.fake, "GET /user"))
	require.Equal(t, 1, countCalls(b.fake, "POST /graphql"))
}
