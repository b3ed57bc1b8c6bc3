package incident_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

func TestProviderName(t *testing.T) {
	for key, want := range map[string]string{
		"pagerduty":    "PagerDuty",
		"GitHub":       "GitHub",
		"launchdarkly": "LaunchDarkly",
		"webhook":      "Change webhook",
		"alertmanager": "Alertmanager",
		"opsgenie":     "opsgenie",
		"":             "",
	} {
		require.Equal(t, want, incident.ProviderName(key), key)
	}
}
