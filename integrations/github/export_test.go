package github_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

const docsRepo = "acme/postmortems"

func exportSetup(t *testing.T, mode string, actionItems bool) bundle {
	t.Helper()
	b := setup(t, func(c *github.Config) {
		c.ExportRepo, c.ExportMode, c.ActionItemIssues = docsRepo, mode, actionItems
	})
	b.fake.AddRepo(docsRepo, "main", "")
	return b
}

func postmortem(markdown string) incident.PostmortemDoc {
	return incident.PostmortemDoc{
		IncidentKey: "INC-42",
		Title:       "Checkout is down",
		Slug:        "checkout-is-down",
		Date:        time.Date(2026, time.March, 2, 9, 30, 0, 0, time.UTC),
		Markdown:    markdown,
	}
}

const mdPath = "postmortems/2026-03-02-checkout-is-down.md"

func TestExportAsPullRequest(t *testing.T) {
	t.Parallel()
	b := exportSetup(t, "", false)
	ctx := t.Context()

	ref, err := b.client.Export(ctx, postmortem("# INC-42\n\nFirst draft.\n"), nil)
	require.NoError(t, err)

	prs := b.fake.PullRequests(docsRepo)
	require.Len(t, prs, 1)
	pr := prs[0]
	require.Equal(t, "Postmortem: INC-42 Checkout is down", pr.Title)
	require.Equal(t, "postmortem/inc-42", pr.Head)
	require.Equal(t, "main", pr.Base)
	require.Equal(t, "open", pr.State)
	require.Equal(t, incident.ExportRef{
		Target: "github", ID: fmt.Sprint(pr.Number), URL: fmt.Sprintf("%s%s/pull/%d", b.fake.URL(), docsRepo, pr.Number), Version: 1,
		Digest: blobSHA("# INC-42\n\nFirst draft.\n"),
	}, ref, "the export records the blob sha of the file it wrote")
	require.Equal(t, map[string]string{mdPath: "# INC-42\n\nFirst draft.\n"}, b.fake.Files(docsRepo, "postmortem/inc-42"))
	require.Empty(t, b.fake.Files(docsRepo, "main"), "the default branch is untouched until the PR merges")

	// Re-export with the reference: same file (updated with its sha), same PR.
	again, err := b.client.Export(ctx, postmortem("# INC-42\n\nSecond draft.\n"), &ref)
	require.NoError(t, err)
	require.Len(t, b.fake.PullRequests(docsRepo), 1, "no second pull request")
	require.Equal(t, ref.ID, again.ID)
	require.Equal(t, 2, again.Version)
	require.Equal(t, map[string]string{mdPath: "# INC-42\n\nSecond draft.\n"}, b.fake.Files(docsRepo, "postmortem/inc-42"))

	// The reference was lost: the open pull request for the branch is found.
	head := b.fake.Branches(docsRepo)["postmortem/inc-42"]
	third, err := b.client.Export(ctx, postmortem("# INC-42\n\nSecond draft.\n"), nil)
	require.NoError(t, err)
	require.Equal(t, ref.ID, third.ID)
	require.Len(t, b.fake.PullRequests(docsRepo), 1)
	require.Equal(t, head, b.fake.Branches(docsRepo)["postmortem/inc-42"], "an unchanged document makes no commit")
}

func TestReExportAfterTheMerge(t *testing.T) {
	t.Parallel()
	b := exportSetup(t, "pr", false)
	ref, err := b.client.Export(t.Context(), postmortem("Final."), nil)
	require.NoError(t, err)
	n := b.fake.PullRequests(docsRepo)[0].Number
	require.NoError(t, b.fake.MergePullRequest(docsRepo, n))

	same, err := b.client.Export(t.Context(), postmortem("Final."), &ref)
	require.NoError(t, err)
	require.Equal(t, ref.ID, same.ID, "nothing changed: the merged pull request is still the export")

	edited, err := b.client.Export(t.Context(), postmortem("Final, with a correction."), &same)
	require.NoError(t, err)
	require.NotEqual(t, ref.ID, edited.ID, "a change after the merge needs a new pull request")
	require.Len(t, b.fake.PullRequests(docsRepo), 2)
}

func TestExportAsIssue(t *testing.T) {
	t.Parallel()
	b := exportSetup(t, "issue", false)

	ref, err := b.client.Export(t.Context(), postmortem("First draft."), nil)
	require.NoError(t, err)
	issues := b.fake.Issues(docsRepo)
	require.Len(t, issues, 1)
	require.Equal(t, "Postmortem: INC-42 Checkout is down", issues[0].Title)
	require.True(t, strings.HasPrefix(issues[0].Body, "First draft."), issues[0].Body)
	require.Equal(t, []string{"postmortem"}, issues[0].Labels)
	require.Equal(t, fmt.Sprint(issues[0].Number), ref.ID)
	require.Equal(t, fmt.Sprintf("%s%s/issues/%d", b.fake.URL(), docsRepo, issues[0].Number), ref.URL)

	again, err := b.client.Export(t.Context(), postmortem("Second draft."), &ref)
	require.NoError(t, err)
	issues = b.fake.Issues(docsRepo)
	require.Len(t, issues, 1, "re-export edits the issue")
	require.True(t, strings.HasPrefix(issues[0].Body, "Second draft."), issues[0].Body)
	require.Equal(t, ref.ID, again.ID)
	require.Equal(t, 2, again.Version)
	require.Empty(t, b.fake.PullRequests(docsRepo))
}

// actThenFail lets GitHub act on the first n requests with method whose
// path ends in suffix, then answers 502 in GitHub's stead, as a proxy whose
// upstream answered too late does: the caller cannot tell it worked.
type actThenFail struct {
	method, suffix string
	mu             sync.Mutex
	n              int
}

func (a *actThenFail) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	hit := a.n > 0 && r.Method == a.method && strings.HasSuffix(r.URL.Path, a.suffix)
	if hit {
		a.n--
	}
	a.mu.Unlock()
	if !hit {
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return &http.Response{StatusCode: http.StatusBadGateway, Status: "502 Bad Gateway", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(`{"message":"Server Error"}`)), Request: r}, nil
}

func TestExportAsIssueAfterAnAmbiguousFailureOpensOneIssue(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *github.Config) {
		c.ExportRepo, c.ExportMode = docsRepo, "issue"
		c.HTTPClient = &http.Client{Transport: &actThenFail{method: http.MethodPost, suffix: "/issues", n: 1}}
	})
	b.fake.AddRepo(docsRepo, "main", "")

	_, err := b.client.Export(t.Context(), postmortem("First draft."), nil)
	requireCode(t, err, incident.EUNAVAILABLE)
	require.Len(t, b.fake.Issues(docsRepo), 1, "GitHub opened the issue before the answer was lost")

	// The export job retries with no reference recorded.
	ref, err := b.client.Export(t.Context(), postmortem("First draft, retried."), nil)
	require.NoError(t, err)
	issues := b.fake.Issues(docsRepo)
	require.Len(t, issues, 1, "the retry finds the issue the lost answer opened instead of opening a second")
	require.Equal(t, fmt.Sprint(issues[0].Number), ref.ID)
	require.True(t, strings.HasPrefix(issues[0].Body, "First draft, retried."), issues[0].Body)

	// Another incident's postmortem is its own issue.
	other := postmortem("Other.")
	other.IncidentKey = "INC-43"
	_, err = b.client.Export(t.Context(), other, nil)
	require.NoError(t, err)
	require.Len(t, b.fake.Issues(docsRepo), 2)
}

func TestExportAsPullRequestAfterAnAmbiguousWrite(t *testing.T) {
	t.Parallel()
	// GitHub writes the file, the answer is lost, and the outbound client
	// sends the PUT again, as it does for an idempotent method: GitHub
	// refuses the repeat (422 "sha wasn't supplied" for a create, 409 for
	// an update whose sha moved on), though the document is written.
	lost := &actThenFail{method: http.MethodPut, suffix: "/contents/" + mdPath, n: 1}
	out := outbound.New(outbound.Policy{Provider: "github", Operation: outbound.GitHubOperation},
		outbound.WithBaseTransport(lost), outbound.WithSleep(func(context.Context, time.Duration) error { return nil }))
	b := setup(t, func(c *github.Config) {
		c.ExportRepo, c.HTTPClient = docsRepo, out.HTTPClient()
	})
	b.fake.AddRepo(docsRepo, "main", "")

	ref, err := b.client.Export(t.Context(), postmortem("First draft."), nil)
	require.NoError(t, err, "the file the lost answer wrote is the export")
	require.Equal(t, map[string]string{mdPath: "First draft."}, b.fake.Files(docsRepo, "postmortem/inc-42"))
	require.Len(t, b.fake.PullRequests(docsRepo), 1)

	lost.mu.Lock()
	lost.n = 1
	lost.mu.Unlock()
	again, err := b.client.Export(t.Context(), postmortem("Second draft."), &ref)
	require.NoError(t, err)
	require.Equal(t, ref.ID, again.ID)
	require.Equal(t, map[string]string{mdPath: "Second draft."}, b.fake.Files(docsRepo, "postmortem/inc-42"))
}

func TestExportActionItemsAsIssues(t *testing.T) {
	t.Parallel()
	b := exportSetup(t, "issue", true)
	due := time.Date(2026, time.March, 9, 0, 0, 0, 0, time.UTC)
	doc := postmortem("Draft.")
	doc.ActionItems = []incident.ActionItem{
		{ID: 1, Text: "Add a canary for checkout", Owner: "U0ADA", DueOn: &due},
		{ID: 2, Text: "Already tracked", ExternalURL: "https://jira.example.com/OPS-1"},
		{ID: 3, Text: "Done already", Done: true},
		{ID: 4, Text: "Alert on 5xx rate"},
	}

	ref, err := b.client.Export(t.Context(), doc, nil)
	require.NoError(t, err)
	_, err = b.client.Export(t.Context(), doc, &ref)
	require.NoError(t, err)

	var titles []string
	var canary string
	for _, is := range b.fake.Issues(docsRepo) {
		titles = append(titles, is.Title)
		if is.Title == "Add a canary for checkout" {
			canary = is.Body
			require.Equal(t, []string{"incident-follow-up"}, is.Labels)
		}
	}
	require.Equal(t, []string{"Postmortem: INC-42 Checkout is down", "Add a canary for checkout", "Alert on 5xx rate"}, titles,
		"one issue per untracked, open item, even after a re-export")
	require.Contains(t, canary, "Follow-up from INC-42: Checkout is down.")
	require.Contains(t, canary, "Owner: Slack user U0ADA")
	require.Contains(t, canary, "Due: 2026-03-09")
}

func TestExportErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.client.Export(t.Context(), postmortem("x"), nil)
	requireCode(t, err, incident.EINVALID)

	b = setup(t, func(c *github.Config) { c.ExportRepo = "acme/missing" })
	_, err = b.client.Export(t.Context(), postmortem("x"), nil)
	requireCode(t, err, incident.ENOTFOUND)
	require.Contains(t, incident.ErrorMessage(err), "acme/missing")
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]github.Config{
		"no token":         {APIURL: "https://api.github.com/"},
		"relative URL":     {APIURL: "api.github.com", Token: "t"},
		"bad export repo":  {Token: "t", ExportRepo: "postmortems"},
		"bad export mode":  {Token: "t", ExportRepo: "acme/docs", ExportMode: "wiki"},
		"nested repo name": {Token: "t", ExportRepo: "acme/docs/extra"},
	} {
		_, err := github.New(cfg)
		require.Error(t, err, name)
	}
	_, err := github.New(github.Config{Token: "t", APIURL: "https://ghe.example.com/api/v3", ExportRepo: "acme/docs", ExportMode: "issue"})
	require.NoError(t, err)
}

// GitHub refuses an issue or pull request whose title passes 256
// characters or whose body passes 65,536 ("body is too long (maximum is
// 65536 characters)"); the fake does too. A long postmortem, with
// multi-byte characters, and a long title go out cut to fit, both ways.
func TestExportCutsTitleAndBodyToGitHubsLimits(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"pr", "issue"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			b := exportSetup(t, mode, true)
			doc := postmortem("# INC-42\n\n" + strings.Repeat("é", 70000))
			doc.Title = strings.Repeat("Checkout is down ", 20)
			doc.ActionItems = []incident.ActionItem{{ID: 7, Text: strings.Repeat("Add a circuit breaker ", 20)}}
			_, err := b.client.Export(t.Context(), doc, nil)
			require.NoError(t, err)
			for _, is := range b.fake.Issues(docsRepo) {
				require.LessOrEqual(t, len([]rune(is.Title)), 256)
				require.LessOrEqual(t, len([]rune(is.Body)), 65536)
			}
			for _, pr := range b.fake.PullRequests(docsRepo) {
				require.LessOrEqual(t, len([]rune(pr.Title)), 256)
			}
		})
	}
}
