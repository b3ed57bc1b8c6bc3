package github_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// TestIssueClosedMarksDoneOnlyWhenCompleted closes an exported action
// item's issue for each of GitHub's close reasons and delivers GitHub's
// issues webhook: only "completed", or no reason at all (a GitHub
// Enterprise Server older than close reasons, whose payload carries
// state_reason null), marks the action item done. "duplicate" means the
// work goes on in the issue it duplicates, and "not_planned" that it was
// dropped.
func TestIssueClosedMarksDoneOnlyWhenCompleted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		reason string
		done   bool
	}{
		{"completed", true},
		{"", true},
		{"duplicate", false},
		{"not_planned", false},
	} {
		t.Run("reason="+tc.reason, func(t *testing.T) {
			t.Parallel()
			b := exportSetup(t, "issue", true)
			doc := postmortem("Draft.")
			doc.ActionItems = []incident.ActionItem{{ID: 7, Text: "Add a canary for checkout"}}
			_, err := b.client.Export(t.Context(), doc, nil)
			require.NoError(t, err)
			number := 0
			for _, is := range b.fake.Issues(docsRepo) {
				if is.Title == "Add a canary for checkout" {
					number = is.Number
				}
			}
			require.NotZero(t, number)

			rec := &doneRecorder{}
			srv := httptest.NewServer(github.NewWebhookHandler(hookSecret, (&sinkRecorder{}).sink, nil,
				github.WithIssueClosed(rec.issueClosed), github.WithBotIdentity(b.client)))
			t.Cleanup(srv.Close)

			closed, err := b.fake.CloseIssue(docsRepo, number, tc.reason, "ada")
			require.NoError(t, err)
			issue := closed["issue"].(map[string]any)
			if tc.reason == "" {
				require.Nil(t, issue["state_reason"], "GitHub without close reasons sends no state_reason")
			} else {
				require.Equal(t, tc.reason, issue["state_reason"])
			}
			status, err := ghfake.SendWebhook(t.Context(), srv.URL, hookSecret, "issues", closed)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status)
			if tc.done {
				require.Len(t, rec.done, 1)
				require.Contains(t, rec.done[0], "INC-42/7 ")
			} else {
				require.Empty(t, rec.done, "an action item whose issue was closed as %s is not done", tc.reason)
			}
		})
	}
}
