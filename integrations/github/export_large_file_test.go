package github_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// largeDraft is a postmortem of about 1.4 MB (a long pasted timeline),
// over the 1 MB past which GitHub's Get repository content answers a
// file without its content ("encoding": "none"); note tells drafts apart.
func largeDraft(note string) string {
	return "# INC-42\n\n" + strings.Repeat("| 14:02 | Bob | pasted stack trace line ... |\n", 30000) + note + "\n"
}

// A postmortem over 1 MB is exported as a pull request and exported again:
// with a changed draft (the file is updated, the same pull request kept),
// unchanged (no commit), and after a write whose answer was lost (the
// retry takes the file for the bot's own). A team's commit to such a file
// is still left alone.
func TestPRExportOfAPostmortemOver1MB(t *testing.T) {
	t.Parallel()
	b, f := faultySetup(t, "pr")
	ctx := t.Context()
	rec := &exportRecord{}
	first, err := b.client.ExportRecorded(ctx, postmortem(largeDraft("Draft 1.")), rec.get(), rec.record)
	require.NoError(t, err)
	require.Greater(t, len(b.fake.Files(docsRepo, prBranch)[mdPath]), 1<<20+1<<18)
	rec.saved(first)

	again, err := b.client.ExportRecorded(ctx, postmortem(largeDraft("Draft 2.")), rec.get(), rec.record)
	require.NoError(t, err, "a re-export with a changed draft")
	require.Equal(t, largeDraft("Draft 2."), b.fake.Files(docsRepo, prBranch)[mdPath])
	require.Equal(t, first.ID, again.ID)
	require.Equal(t, blobSHA(largeDraft("Draft 2.")), again.Digest)
	require.Len(t, b.fake.PullRequests(docsRepo), 1)
	rec.saved(again)

	head := b.fake.Branches(docsRepo)[prBranch]
	same, err := b.client.ExportRecorded(ctx, postmortem(largeDraft("Draft 2.")), rec.get(), rec.record)
	require.NoError(t, err, "a re-export of an unchanged draft")
	require.Equal(t, head, b.fake.Branches(docsRepo)[prBranch], "an unchanged document makes no commit")
	require.Equal(t, again.Digest, same.Digest)
	rec.saved(same)

	// The commit goes through and its answer is lost: the job retries with
	// a draft compiled anew.
	f.add(http.MethodPut, "/contents/"+mdPath, true)
	_, err = b.client.ExportRecorded(ctx, postmortem(largeDraft("Draft 3.")), rec.get(), rec.record)
	requireCode(t, err, incident.EUNAVAILABLE)
	require.Equal(t, largeDraft("Draft 3."), b.fake.Files(docsRepo, prBranch)[mdPath], "GitHub carried the commit out")
	retry, err := b.client.ExportRecorded(ctx, postmortem(largeDraft("Draft 4.")), rec.get(), rec.record)
	require.NoError(t, err, "the retry after a lost answer")
	require.Equal(t, largeDraft("Draft 4."), b.fake.Files(docsRepo, prBranch)[mdPath])
	require.Equal(t, first.ID, retry.ID)
	rec.saved(retry)

	// A lost answer again, and this time the retry holds the same draft:
	// the file already holds it, and no second commit is made.
	f.add(http.MethodPut, "/contents/"+mdPath, true)
	_, err = b.client.ExportRecorded(ctx, postmortem(largeDraft("Draft 5.")), rec.get(), rec.record)
	requireCode(t, err, incident.EUNAVAILABLE)
	head = b.fake.Branches(docsRepo)[prBranch]
	done, err := b.client.ExportRecorded(ctx, postmortem(largeDraft("Draft 5.")), rec.get(), rec.record)
	require.NoError(t, err)
	require.Equal(t, head, b.fake.Branches(docsRepo)[prBranch])
	require.Equal(t, blobSHA(largeDraft("Draft 5.")), done.Digest)
	rec.saved(done)

	team := largeDraft("Root cause agreed in review.")
	b.fake.PutFile(docsRepo, prBranch, mdPath, team)
	_, err = b.client.ExportRecorded(ctx, postmortem(largeDraft("Draft 6.")), rec.get(), rec.record)
	requireLeftAlone(t, err, "on the branch "+prBranch+" was edited on GitHub since the last export")
	require.Equal(t, team, b.fake.Files(docsRepo, prBranch)[mdPath], "the team's file stands")
}

// A merged postmortem over 1 MB, read on the default branch, gets a new
// pull request for a changed draft and none for the same one.
func TestReExportAfterTheMergeOfAPostmortemOver1MB(t *testing.T) {
	t.Parallel()
	b := exportSetup(t, "pr", false)
	ref, err := b.client.Export(t.Context(), postmortem(largeDraft("Final.")), nil)
	require.NoError(t, err)
	require.NoError(t, b.fake.MergePullRequest(docsRepo, b.fake.PullRequests(docsRepo)[0].Number))

	same, err := b.client.Export(t.Context(), postmortem(largeDraft("Final.")), &ref)
	require.NoError(t, err)
	require.Equal(t, ref.ID, same.ID, "nothing changed: the merged pull request is still the export")

	edited, err := b.client.Export(t.Context(), postmortem(largeDraft("Final, with a correction.")), &same)
	require.NoError(t, err)
	require.NotEqual(t, ref.ID, edited.ID)
	require.Len(t, b.fake.PullRequests(docsRepo), 2)
}
