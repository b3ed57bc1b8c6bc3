package pagerduty_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// Secrets as read from "old, new": the padded one still verifies.
func TestWebhookSecretsWithSpacesVerify(t *testing.T) {
	t.Parallel()
	w := setupWebhook(t, oldSecret, " "+secret+" ", "")
	require.Equal(t, http.StatusOK, w.send(t, "incident.acknowledged", "Ben"))
	require.Len(t, w.sink.got(), 1)
}
