package github_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github"
)

// exportRecord is the export's record as the store keeps it between the
// job's attempts: what the job saves once an export is done, and what the
// exporter records before each write.
type exportRecord struct {
	mu   sync.Mutex
	ref  *incident.ExportRef
	fail error // when set, recording fails
}

func (r *exportRecord) record(_ context.Context, ref incident.ExportRef) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.ref = &ref
	return nil
}

// saved is the job's own save, after an export went through.
func (r *exportRecord) saved(ref incident.ExportRef) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ref = &ref
}

// get is what the job's next attempt reads.
func (r *exportRecord) get() *incident.ExportRef {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ref == nil {
		return nil
	}
	ref := *r.ref
	return &ref
}

// fault is one way a call to GitHub goes wrong, n times: acted, GitHub
// carries the call out and its answer is lost (a 502 from the proxy in
// front of it); otherwise the call never reaches GitHub.
type fault struct {
	method, suffix string
	acted          bool
	n              int
}

// faults is a transport that lets GitHub answer, except for the calls its
// faults match.
type faults struct {
	mu   sync.Mutex
	list []*fault
}

func (f *faults) add(method, suffix string, acted bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = append(f.list, &fault{method: method, suffix: suffix, acted: acted, n: 1})
}

func (f *faults) match(r *http.Request) *fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ft := range f.list {
		if ft.n > 0 && r.Method == ft.method && strings.HasSuffix(r.URL.Path, ft.suffix) {
			ft.n--
			return ft
		}
	}
	return nil
}

func (f *faults) RoundTrip(r *http.Request) (*http.Response, error) {
	ft := f.match(r)
	if ft == nil {
		return http.DefaultTransport.RoundTrip(r)
	}
	if ft.acted {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusBadGateway, Status: "502 Bad Gateway", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(`{"message":"Server Error"}`)), Request: r}, nil
}

func faultySetup(t *testing.T, mode string) (bundle, *faults) {
	t.Helper()
	f := &faults{}
	b := setup(t, func(c *github.Config) {
		c.ExportRepo, c.ExportMode = docsRepo, mode
		c.HTTPClient = &http.Client{Transport: f}
	})
	b.fake.AddRepo(docsRepo, "main", "")
	return b, f
}

// A re-export whose issue edit took effect but whose answer was lost (502)
// is retried by the job with the export's record, and a draft compiled
// again a minute later: the retry takes the body it finds for the bot's
// own (it was recorded as about to be written before the edit) and
// updates it, instead of cancelling the export as edited by hand. A
// person's edit after such a lost answer is still theirs.
func TestIssueRetryAfterALostEditAnswerIsTheBotsOwn(t *testing.T) {
	t.Parallel()
	b, f := faultySetup(t, "issue")
	ctx := t.Context()
	rec := &exportRecord{}
	first, err := b.client.ExportRecorded(ctx, postmortem("Draft compiled 09:00."), rec.get(), rec.record)
	require.NoError(t, err)
	require.Nil(t, rec.get(), "a first export has no record to keep ahead of its writes")
	rec.saved(first)

	f.add(http.MethodPatch, "/issues/1", true)
	_, err = b.client.ExportRecorded(ctx, postmortem("Draft compiled 09:30."), rec.get(), rec.record)
	requireCode(t, err, incident.EUNAVAILABLE)
	require.NotErrorIs(t, err, incident.ErrJobCancel)
	require.True(t, strings.HasPrefix(b.fake.Issues(docsRepo)[0].Body, "Draft compiled 09:30."), "GitHub carried the edit out")
	kept := rec.get()
	require.Equal(t, first.ID, kept.ID)
	require.Equal(t, first.Digest, kept.Digest)
	require.NotEmpty(t, kept.Pending, "what the edit was to write is recorded before it")
	require.NotEqual(t, kept.Digest, kept.Pending)

	// The job retries: the record as it was kept, the draft compiled anew.
	again, err := b.client.ExportRecorded(ctx, postmortem("Draft compiled 09:31."), rec.get(), rec.record)
	require.NoError(t, err, "the bot's own write is not a person's edit")
	issues := b.fake.Issues(docsRepo)
	require.Len(t, issues, 1)
	require.True(t, strings.HasPrefix(issues[0].Body, "Draft compiled 09:31."), issues[0].Body)
	require.Equal(t, first.ID, again.ID)
	require.Empty(t, again.Pending, "a finished export leaves nothing pending")
	rec.saved(again)

	// The next edit's answer is lost too, and then a person edits the
	// issue before the retry: that edit is left alone.
	f.add(http.MethodPatch, "/issues/1", true)
	_, err = b.client.ExportRecorded(ctx, postmortem("Draft compiled 10:00."), rec.get(), rec.record)
	requireCode(t, err, incident.EUNAVAILABLE)
	team := "Rewritten by the team.\n\n" + b.fake.Issues(docsRepo)[0].Body
	require.NoError(t, b.fake.EditIssueBody(docsRepo, issues[0].Number, team))
	_, err = b.client.ExportRecorded(ctx, postmortem("Draft compiled 10:01."), rec.get(), rec.record)
	requireLeftAlone(t, err, "The postmortem issue #1 was edited on GitHub since the last export")
	require.True(t, strings.HasPrefix(b.fake.Issues(docsRepo)[0].Body, "Rewritten by the team."), "the team's edit stands")
}

// Pull-request mode: the file is committed, then reading the export's pull
// request fails (502). The retry, with a draft compiled anew, finds the
// bot's own commit on the branch (its blob sha was recorded before the
// write) and updates the file and the same pull request. A person's commit
// after such a failure is still theirs.
func TestPRRetryAfterAFailureAfterTheCommitIsTheBotsOwn(t *testing.T) {
	t.Parallel()
	b, f := faultySetup(t, "pr")
	ctx := t.Context()
	rec := &exportRecord{}
	first, err := b.client.ExportRecorded(ctx, postmortem("Draft compiled 09:00."), rec.get(), rec.record)
	require.NoError(t, err)
	rec.saved(first)

	f.add(http.MethodGet, "/pulls/"+first.ID, false)
	_, err = b.client.ExportRecorded(ctx, postmortem("Draft compiled 09:30."), rec.get(), rec.record)
	requireCode(t, err, incident.EUNAVAILABLE)
	require.Equal(t, "Draft compiled 09:30.", b.fake.Files(docsRepo, prBranch)[mdPath], "the commit went through")
	require.Equal(t, incident.ExportRef{Target: "github", ID: first.ID, URL: first.URL, Version: 1,
		Digest: blobSHA("Draft compiled 09:00."), Pending: blobSHA("Draft compiled 09:30.")}, *rec.get(),
		"the blob the commit makes is recorded before it")

	again, err := b.client.ExportRecorded(ctx, postmortem("Draft compiled 09:31."), rec.get(), rec.record)
	require.NoError(t, err, "the bot's own commit is not the team's edit")
	require.Equal(t, "Draft compiled 09:31.", b.fake.Files(docsRepo, prBranch)[mdPath])
	require.Equal(t, first.ID, again.ID)
	require.Len(t, b.fake.PullRequests(docsRepo), 1)
	require.Equal(t, blobSHA("Draft compiled 09:31."), again.Digest)
	rec.saved(again)

	// Again the answer is lost after the commit, and the team commits to
	// the branch before the retry: their file is left alone.
	f.add(http.MethodGet, "/pulls/"+first.ID, false)
	_, err = b.client.ExportRecorded(ctx, postmortem("Draft compiled 10:00."), rec.get(), rec.record)
	requireCode(t, err, incident.EUNAVAILABLE)
	team := "# INC-42\n\nRoot cause agreed in review.\n"
	b.fake.PutFile(docsRepo, prBranch, mdPath, team)
	_, err = b.client.ExportRecorded(ctx, postmortem("Draft compiled 10:01."), rec.get(), rec.record)
	requireLeftAlone(t, err, "on the branch "+prBranch+" was edited on GitHub since the last export")
	require.Equal(t, team, b.fake.Files(docsRepo, prBranch)[mdPath], "the team's file stands")
}

// A write whose answer was lost is followed by a retry whose own write
// never reaches GitHub: the file is still the first retry's lost write,
// which that retry had found to be the bot's and recorded as its last. The
// third attempt updates it.
func TestRetryAfterAWriteThatNeverLandedIsTheBotsOwn(t *testing.T) {
	t.Parallel()
	b, f := faultySetup(t, "pr")
	ctx := t.Context()
	rec := &exportRecord{}
	first, err := b.client.ExportRecorded(ctx, postmortem("Draft 1."), rec.get(), rec.record)
	require.NoError(t, err)
	rec.saved(first)

	f.add(http.MethodPut, "/contents/"+mdPath, true)
	_, err = b.client.ExportRecorded(ctx, postmortem("Draft 2."), rec.get(), rec.record)
	require.Error(t, err)
	require.Equal(t, "Draft 2.", b.fake.Files(docsRepo, prBranch)[mdPath])

	f.add(http.MethodPut, "/contents/"+mdPath, false)
	_, err = b.client.ExportRecorded(ctx, postmortem("Draft 3."), rec.get(), rec.record)
	require.Error(t, err)
	require.NotErrorIs(t, err, incident.ErrJobCancel)
	require.Equal(t, "Draft 2.", b.fake.Files(docsRepo, prBranch)[mdPath], "the write never reached GitHub")
	require.Equal(t, blobSHA("Draft 2."), rec.get().Digest)
	require.Equal(t, blobSHA("Draft 3."), rec.get().Pending)

	done, err := b.client.ExportRecorded(ctx, postmortem("Draft 4."), rec.get(), rec.record)
	require.NoError(t, err)
	require.Equal(t, "Draft 4.", b.fake.Files(docsRepo, prBranch)[mdPath])
	require.Equal(t, first.ID, done.ID)
}

// What cannot be recorded is not written: unrecorded, a write whose answer
// was lost would be taken for an edit on the retry. The export fails, to
// be retried, with GitHub untouched.
func TestExportStopsBeforeAWriteItCannotRecord(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"issue", "pr"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			b := exportSetup(t, mode, false)
			ctx := t.Context()
			rec := &exportRecord{}
			first, err := b.client.ExportRecorded(ctx, postmortem("Draft 1."), nil, rec.record)
			require.NoError(t, err)
			rec.saved(first)
			rec.fail = incident.Errorf(incident.EUNAVAILABLE, "The database is not answering.")

			_, err = b.client.ExportRecorded(ctx, postmortem("Draft 2."), rec.get(), rec.record)
			requireCode(t, err, incident.EUNAVAILABLE)
			require.False(t, errors.Is(err, incident.ErrJobCancel))
			if mode == "issue" {
				require.True(t, strings.HasPrefix(b.fake.Issues(docsRepo)[0].Body, "Draft 1."))
			} else {
				require.Equal(t, "Draft 1.", b.fake.Files(docsRepo, prBranch)[mdPath])
			}
		})
	}
}
