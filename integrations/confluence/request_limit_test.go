package confluence_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/confluence"
	"github.com/firebreakhq/firebreak/integrations/confluence/confluencefake"
)

// pastedTable is a storage-format body of about n bytes made of what a
// pasted HTML error page becomes once escaped: "<" and "&" all along.
func pastedTable(n int) string {
	cell := "<td>&lt;div&gt; &amp; &quot;500&quot;</td>"
	return "<table><tbody><tr>" + strings.Repeat(cell, n/len(cell)) + "</tr></tbody></table>"
}

// TestStoragePageIsSentWithoutHTMLEscaping: a 3 MB page of table cells and
// entities fits Confluence's 5 MiB request limit as it is, but not once
// every "<", ">" and "&" is sent as a six-byte \u escape. The client sends
// the storage body as written, on both flavours, for a create and an
// update.
func TestStoragePageIsSentWithoutHTMLEscaping(t *testing.T) {
	t.Parallel()
	body := pastedTable(3 << 20)
	require.Less(t, len(body), confluence.RequestLimit)
	for _, flavor := range []confluence.Flavor{confluence.Cloud, confluence.DataCenter} {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if flavor == confluence.DataCenter {
				b = setupDC(t, 0)
			}
			ref, err := b.client.Export(context.Background(), doc(body), nil)
			require.NoError(t, err)
			pages := b.postmortems()
			require.Len(t, pages, 1)
			require.Equal(t, body, written(t, pages[0]))

			_, err = b.client.Export(context.Background(), doc(body+"<p>follow-up added</p>"), &ref)
			require.NoError(t, err, "the update goes through too")
			require.Equal(t, 2, b.postmortems()[0].Version)
		})
	}
}

// TestPageOverTheRequestLimitSaysWhatToDo: Confluence refuses a request
// over its limit with 413; the export fails as a page Confluence rejects
// (retrying the same page cannot help) and says what to do.
func TestPageOverTheRequestLimitSaysWhatToDo(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.client.Export(context.Background(), doc(pastedTable(confluence.RequestLimit+1024)), nil)
	require.Error(t, err)
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err), err.Error())
	msg := incident.ErrorMessage(err)
	require.Contains(t, msg, "HTTP 413")
	require.Contains(t, msg, "larger than Confluence accepts")
	require.Contains(t, msg, "at most 5242880 bytes")
	require.Empty(t, b.postmortems())
}

// TestFakeRefusesRequestsOverTheLimit: the fake answers 413 with
// Confluence's body to a request over its limit, whatever the route and
// flavour, and stores nothing.
func TestFakeRefusesRequestsOverTheLimit(t *testing.T) {
	t.Parallel()
	fake := confluencefake.New(confluencefake.Config{Email: email, APIToken: token, PersonalAccessToken: pat,
		Spaces: map[string]string{spaceID: "ENG"}, RequestLimit: 4096})
	t.Cleanup(fake.Close)
	cloud := confluence.New(confluence.Config{BaseURL: fake.URL(), Email: email, APIToken: token, SpaceID: spaceID})
	dc := confluence.New(confluence.Config{Flavor: confluence.DataCenter, BaseURL: fake.DataCenterURL(), APIToken: pat, SpaceID: "ENG"})
	for _, c := range []*confluence.Client{cloud, dc} {
		_, err := c.Export(context.Background(), doc(pastedTable(8192)), nil)
		require.Equal(t, incident.EINVALID, incident.ErrorCode(err), "%v", err)
		require.Contains(t, incident.ErrorMessage(err), "at most 4096 bytes")
	}
	require.Empty(t, fake.Pages())
	for _, call := range fake.Calls() {
		require.Equal(t, 413, call.Status, call.Path)
	}
	_, err := cloud.Export(context.Background(), doc(pastedTable(2048)), nil)
	require.NoError(t, err, "a request within the limit is served")
}
