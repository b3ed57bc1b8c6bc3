package github_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// The postmortem issue was deleted on GitHub (reading it is answered 410
// Gone, "This issue was deleted"), so the next export opens a replacement;
// that issue is opened but the answer is lost. The job's retry still holds
// the record of the deleted issue: it finds the replacement by its marker
// and updates it, rather than opening a second one.
func TestIssueReplacementForADeletedIssueIsOpenedOnce(t *testing.T) {
	t.Parallel()
	b, f := faultySetup(t, "issue")
	ctx := t.Context()
	rec := &exportRecord{}
	first, err := b.client.ExportRecorded(ctx, postmortem("Draft compiled 09:00."), rec.get(), rec.record)
	require.NoError(t, err)
	rec.saved(first)
	number, err := strconv.Atoi(first.ID)
	require.NoError(t, err)
	require.NoError(t, b.fake.DeleteIssue(docsRepo, number))

	f.add(http.MethodPost, "/issues", true)
	_, err = b.client.ExportRecorded(ctx, postmortem("Draft compiled 09:30."), rec.get(), rec.record)
	requireCode(t, err, incident.EUNAVAILABLE)
	require.Len(t, b.fake.Issues(docsRepo), 1, "GitHub opened the replacement")

	again, err := b.client.ExportRecorded(ctx, postmortem("Draft compiled 09:31."), rec.get(), rec.record)
	require.NoError(t, err)
	issues := b.fake.Issues(docsRepo)
	require.Len(t, issues, 1, "the retry updates the replacement it opened instead of opening another")
	require.Equal(t, strconv.Itoa(issues[0].Number), again.ID)
	require.NotEqual(t, first.ID, again.ID)
	require.True(t, strings.HasPrefix(issues[0].Body, "Draft compiled 09:31."), issues[0].Body)
}
