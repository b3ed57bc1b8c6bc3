package github_test

import (
	gosha1 "crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// blobSHA is git's object id of a file holding content, which GitHub's
// contents API answers as the file's sha.
func blobSHA(content string) string {
	h := gosha1.New()
	fmt.Fprintf(h, "blob %d\x00%s", len(content), content)
	return hex.EncodeToString(h.Sum(nil))
}

const prBranch = "postmortem/inc-42"

// requireLeftAlone checks that an export refused to write over people's
// edits: a conflict, final (ErrJobCancel), whose message says so and what
// to do, with a link.
func requireLeftAlone(t *testing.T, err error, says ...string) {
	t.Helper()
	requireCode(t, err, incident.ECONFLICT)
	require.ErrorIs(t, err, incident.ErrJobCancel, "retrying cannot help: the edits stay until someone acts")
	msg := incident.ErrorMessage(err)
	require.Contains(t, msg, "firebreak did not overwrite it")
	require.Contains(t, msg, "Copy what the new draft adds")
	for _, s := range says {
		require.Contains(t, msg, s)
	}
}

// The pull request asks the team to edit the document on its branch. They
// do; a re-export (a follow-up was added) leaves their file alone and says
// so, instead of committing the draft over it. Once the team deletes the
// branch, as the message offers, the draft goes out in a new pull request.
func TestPRReExportLeavesTheTeamsEditsOnTheBranch(t *testing.T) {
	t.Parallel()
	b := exportSetup(t, "pr", false)
	ctx := t.Context()
	draft := "# INC-42\n\n> Root cause: _to be written by the team._\n"
	ref, err := b.client.Export(ctx, postmortem(draft), nil)
	require.NoError(t, err)
	require.Equal(t, blobSHA(draft), ref.Digest)

	team := "# INC-42\n\n> Root cause: the order-history query had no index (agreed in review).\n"
	b.fake.PutFile(docsRepo, prBranch, mdPath, team)
	head := b.fake.Branches(docsRepo)[prBranch]

	_, err = b.client.Export(ctx, postmortem(draft+"\n- Load-test checkout\n"), &ref)
	requireLeftAlone(t, err, "The postmortem "+mdPath+" on the branch "+prBranch+" was edited on GitHub since the last export",
		"delete the branch "+prBranch, "/blob/"+prBranch+"/"+mdPath)
	require.Equal(t, team, b.fake.Files(docsRepo, prBranch)[mdPath], "the team's file stands")
	require.Equal(t, head, b.fake.Branches(docsRepo)[prBranch], "no commit")
	require.Len(t, b.fake.PullRequests(docsRepo), 1)
	require.Contains(t, b.logs.String(), "leaving it alone")

	// The team's own file, exported again unchanged, is still theirs.
	_, err = b.client.Export(ctx, postmortem(draft), &ref)
	requireLeftAlone(t, err)

	// The team closes the pull request by deleting its branch, and asks
	// for the draft again.
	require.NoError(t, b.fake.DeleteBranch(docsRepo, prBranch))
	again, err := b.client.Export(ctx, postmortem(draft+"\n- Load-test checkout\n"), &ref)
	require.NoError(t, err)
	require.Equal(t, draft+"\n- Load-test checkout\n", b.fake.Files(docsRepo, prBranch)[mdPath])
	require.Equal(t, blobSHA(draft+"\n- Load-test checkout\n"), again.Digest)
	require.Len(t, b.fake.PullRequests(docsRepo), 2, "a new pull request: the first was closed with its branch")
}

// The bot's own writes are the bot's: a re-export updates the file it
// last wrote, and a re-export whose previous attempt wrote the file but
// lost the answer (no record, the file already holds the draft) makes no
// commit.
func TestPRReExportUpdatesWhatTheBotWrote(t *testing.T) {
	t.Parallel()
	b := exportSetup(t, "pr", false)
	ctx := t.Context()
	ref, err := b.client.Export(ctx, postmortem("First."), nil)
	require.NoError(t, err)
	second, err := b.client.Export(ctx, postmortem("Second."), &ref)
	require.NoError(t, err)
	require.Equal(t, blobSHA("Second."), second.Digest)
	third, err := b.client.Export(ctx, postmortem("Third."), &second)
	require.NoError(t, err)
	require.Equal(t, "Third.", b.fake.Files(docsRepo, prBranch)[mdPath])

	// The record of the third export was lost: the second's is what the
	// retry sees, and the file holds the draft already.
	head := b.fake.Branches(docsRepo)[prBranch]
	retried, err := b.client.Export(ctx, postmortem("Third."), &second)
	require.NoError(t, err)
	require.Equal(t, third.Digest, retried.Digest)
	require.Equal(t, head, b.fake.Branches(docsRepo)[prBranch], "no empty commit")
}

// After the merge the pull request's branch is deleted (by hand, or by
// GitHub's "Automatically delete head branches"), and the document lives
// on the default branch. A re-export reads it there: still the bot's, it
// goes out in a new pull request that changes it; reviewed and changed, as
// it usually is, it is left alone, and no branch or pull request is made.
func TestPRReExportAfterTheMergeAndTheBranchDeleted(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	merged := func(t *testing.T) (bundle, incident.ExportRef) {
		b := exportSetup(t, "pr", false)
		ref, err := b.client.Export(ctx, postmortem("Draft."), nil)
		require.NoError(t, err)
		require.NoError(t, b.fake.MergePullRequest(docsRepo, b.fake.PullRequests(docsRepo)[0].Number))
		require.NoError(t, b.fake.DeleteBranch(docsRepo, prBranch))
		return b, ref
	}

	t.Run("unchanged since the bot wrote it", func(t *testing.T) {
		t.Parallel()
		b, ref := merged(t)
		same, err := b.client.Export(ctx, postmortem("Draft."), &ref)
		require.NoError(t, err)
		require.Equal(t, ref.ID, same.ID, "nothing to change: the merged pull request is still the export")

		next, err := b.client.Export(ctx, postmortem("Draft, with a follow-up."), &same)
		require.NoError(t, err)
		require.NotEqual(t, ref.ID, next.ID, "the change goes out in a new pull request")
		require.Len(t, b.fake.PullRequests(docsRepo), 2)
		require.Equal(t, "Draft, with a follow-up.", b.fake.Files(docsRepo, prBranch)[mdPath])
		require.Equal(t, "Draft.", b.fake.Files(docsRepo, "main")[mdPath], "main changes when that pull request merges")
	})

	t.Run("changed in review", func(t *testing.T) {
		t.Parallel()
		b, ref := merged(t)
		b.fake.PutFile(docsRepo, "main", mdPath, "Draft, reviewed: the root cause is agreed.")
		_, err := b.client.Export(ctx, postmortem("Draft, with a follow-up."), &ref)
		requireLeftAlone(t, err, "The postmortem "+mdPath+" on main was edited on GitHub since the last export",
			"in a pull request of your own", "/blob/main/"+mdPath)
		require.Equal(t, "Draft, reviewed: the root cause is agreed.", b.fake.Files(docsRepo, "main")[mdPath])
		require.NotContains(t, b.fake.Branches(docsRepo), prBranch, "no branch is made for a draft that is not written")
		require.Len(t, b.fake.PullRequests(docsRepo), 1, "no pull request that would undo the review")
	})
}

// A person pushes to the branch between the bot's read of the file and
// its write. GitHub refuses the write for its stale sha (409), and the bot
// reads the file again: the person's commit is not the bot's, so it stands.
func TestPRReExportRacingAPushLeavesThePushAlone(t *testing.T) {
	t.Parallel()
	var fake *ghfake.Server
	push := &beforeFirst{method: http.MethodPut, suffix: "/contents/" + mdPath, do: func() {
		fake.PutFile(docsRepo, prBranch, mdPath, "Pushed by a person meanwhile.")
	}}
	b := setup(t, func(c *github.Config) {
		c.ExportRepo = docsRepo
		c.HTTPClient = &http.Client{Transport: push}
	})
	fake = b.fake
	b.fake.AddRepo(docsRepo, "main", "")
	ref, err := b.client.Export(t.Context(), postmortem("Draft."), nil)
	require.NoError(t, err)

	push.mu.Lock()
	push.armed = true
	push.mu.Unlock()
	_, err = b.client.Export(t.Context(), postmortem("Draft, again."), &ref)
	requireLeftAlone(t, err, "was edited on GitHub since the last export")
	require.Equal(t, "Pushed by a person meanwhile.", b.fake.Files(docsRepo, prBranch)[mdPath])
	require.Contains(t, push.statuses(), http.StatusConflict, "GitHub refused the write for its stale sha")
}

// beforeFirst runs do once, before sending the first request it matches,
// while armed, and records the statuses GitHub answered to those requests.
type beforeFirst struct {
	method, suffix string
	do             func()

	mu    sync.Mutex
	armed bool
	got   []int
}

func (b *beforeFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	hit := r.Method == b.method && strings.HasSuffix(r.URL.Path, b.suffix)
	b.mu.Lock()
	run := hit && b.armed
	if run {
		b.armed = false
	}
	b.mu.Unlock()
	if run {
		b.do()
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if hit && err == nil {
		b.mu.Lock()
		b.got = append(b.got, resp.StatusCode)
		b.mu.Unlock()
	}
	return resp, err
}

func (b *beforeFirst) statuses() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.got...)
}

// An export recorded before the bot kept what it wrote names no blob: the
// bot cannot tell the team's edits from its own draft, so it writes only
// when the file already holds the draft, and otherwise says why it did
// not.
func TestPRReExportOfARecordWithoutADigest(t *testing.T) {
	t.Parallel()
	b := exportSetup(t, "pr", false)
	ctx := t.Context()
	ref, err := b.client.Export(ctx, postmortem("Draft."), nil)
	require.NoError(t, err)
	legacy := ref
	legacy.Digest = ""

	same, err := b.client.Export(ctx, postmortem("Draft."), &legacy)
	require.NoError(t, err)
	require.Equal(t, ref.Digest, same.Digest, "the file holds the draft: the record learns its blob")

	_, err = b.client.Export(ctx, postmortem("Draft, with a follow-up."), &legacy)
	requireLeftAlone(t, err, "may have been edited on GitHub: firebreak has no record of what it last wrote there")
	require.Equal(t, "Draft.", b.fake.Files(docsRepo, prBranch)[mdPath])
}

// A file of the same name on the default branch that no export of this
// postmortem recorded may be anybody's, such as a postmortem the team
// wrote by hand: the first export leaves it alone.
func TestPRExportLeavesAFileItDidNotWriteAlone(t *testing.T) {
	t.Parallel()
	b := exportSetup(t, "pr", false)
	b.fake.PutFile(docsRepo, "main", mdPath, "Written by hand.")
	_, err := b.client.Export(t.Context(), postmortem("Draft."), nil)
	requireLeftAlone(t, err)
	require.Equal(t, "Written by hand.", b.fake.Files(docsRepo, "main")[mdPath])
	require.Empty(t, b.fake.PullRequests(docsRepo))
}
