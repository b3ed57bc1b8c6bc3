package ghfake_test

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// Get repository content answers a file over 1 MB with "encoding": "none"
// and empty content, its sha and size still given; the raw media type
// gets the file itself. A file of 1 MB or less comes base64-encoded.
func TestContentsOfAFileOver1MB(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, ghfake.DefaultToken)
	small := strings.Repeat("a", 1<<20)
	big := strings.Repeat("b", 1<<20+1)
	fake.PutFile(repo, "main", "docs/small.md", small)
	fake.PutFile(repo, "main", "docs/big.md", big)
	ctx := t.Context()

	got, _, _, err := c.Repositories.GetContents(ctx, "acme", "checkout", "docs/small.md", nil)
	require.NoError(t, err)
	require.Equal(t, "base64", got.GetEncoding())
	text, err := got.GetContent()
	require.NoError(t, err)
	require.Equal(t, small, text)

	got, _, _, err = c.Repositories.GetContents(ctx, "acme", "checkout", "docs/big.md", nil)
	require.NoError(t, err)
	require.Equal(t, "none", got.GetEncoding())
	require.NotNil(t, got.Content, "content is there, empty")
	require.Empty(t, *got.Content)
	require.Equal(t, len(big), got.GetSize())
	require.Equal(t, gitBlobSHA(big), got.GetSHA())
	_, err = got.GetContent()
	require.Error(t, err, "go-github cannot decode it")

	for _, accept := range []string{"application/vnd.github.raw", "application/vnd.github.v3.raw", "application/vnd.github.raw+json"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fake.URL()+"repos/acme/checkout/contents/docs/big.md?ref=main", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+fake.Token())
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, resp.Body.Close())
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, accept)
		require.Equal(t, big, string(raw), accept)
	}
}

// gitBlobSHA is git's object id of a file holding content.
func gitBlobSHA(content string) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00%s", len(content), content)
	return hex.EncodeToString(h.Sum(nil))
}
