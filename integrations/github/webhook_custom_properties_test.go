package github_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// TestWebhookRepositoryCustomPropertiesOfEveryType: GitHub puts the
// repository's custom properties in every payload's repository object,
// a multi_select property as an array of strings and an unset one as null
// (testdata/README.md names the pages). Such a delivery is a change like
// any other, not a malformed payload.
func TestWebhookRepositoryCustomPropertiesOfEveryType(t *testing.T) {
	t.Parallel()
	rec := &sinkRecorder{}
	hook := webhookServer(t, hookSecret, rec)
	body, err := os.ReadFile(filepath.Join("testdata", "deployment_status_failure_custom_properties.json"))
	require.NoError(t, err)

	status, err := ghfake.SendWebhook(t.Context(), hook, hookSecret, "deployment_status", body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	got := rec.got()
	require.Len(t, got, 1)
	require.Equal(t, "deployment:acme/checkout:145988746", got[0].ExternalID)
	require.Equal(t, "failure", got[0].Data["state"])
	require.Equal(t, "acme/checkout", got[0].Data["repo"])
}
