package github_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

type doneRecorder struct {
	mu   sync.Mutex
	done []string
}

func (d *doneRecorder) issueClosed(_ context.Context, key string, id int64, url string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.done = append(d.done, key+"/"+strconv.FormatInt(id, 10)+" "+url)
	return nil
}

// TestWebhookIssueClosedMarksTheActionItemDone exports action items as
// issues, closes them in GitHub, and delivers GitHub's issues webhook: a
// completed issue marks its item done; one closed as not planned, an issue
// that is not an action item, and a reopened one do not.
func TestWebhookIssueClosedMarksTheActionItemDone(t *testing.T) {
	t.Parallel()
	b := exportSetup(t, "issue", true)
	due := time.Date(2026, time.March, 9, 0, 0, 0, 0, time.UTC)
	doc := postmortem("Draft.")
	doc.ActionItems = []incident.ActionItem{
		{ID: 7, Text: "Add a canary for checkout", Owner: "U0ADA", DueOn: &due},
		{ID: 8, Text: "Alert on 5xx rate"},
	}
	_, err := b.client.Export(t.Context(), doc, nil)
	require.NoError(t, err)
	numbers := map[string]int{}
	for _, is := range b.fake.Issues(docsRepo) {
		numbers[is.Title] = is.Number
	}

	rec := &doneRecorder{}
	changes := &sinkRecorder{}
	srv := httptest.NewServer(github.NewWebhookHandler(hookSecret, changes.sink, nil,
		github.WithIssueClosed(rec.issueClosed), github.WithBotIdentity(b.client)))
	t.Cleanup(srv.Close)

	closed, err := b.fake.CloseIssue(docsRepo, numbers["Add a canary for checkout"], "completed", "ada")
	require.NoError(t, err)
	status, err := ghfake.SendWebhook(t.Context(), srv.URL, hookSecret, "issues", closed)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)

	dropped, err := b.fake.CloseIssue(docsRepo, numbers["Alert on 5xx rate"], "not_planned", "ada")
	require.NoError(t, err)
	status, err = ghfake.SendWebhook(t.Context(), srv.URL, hookSecret, "issues", dropped)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)

	report, err := b.fake.CloseIssue(docsRepo, numbers["Postmortem: INC-42 Checkout is down"], "completed", "ada")
	require.NoError(t, err)
	status, err = ghfake.SendWebhook(t.Context(), srv.URL, hookSecret, "issues", report)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)

	require.Len(t, rec.done, 1)
	require.Contains(t, rec.done[0], "INC-42/7 ")
	require.Contains(t, rec.done[0], "/issues/")
	require.Empty(t, changes.got(), "an issue is not a change")

	forged, err := ghfake.SendWebhook(t.Context(), srv.URL, "wrong-secret", "issues", closed)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, forged)
}
