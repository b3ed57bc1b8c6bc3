package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCheckRefusesBookmarkLinksWithoutScheme: a runbook or dashboard link
// without http:// or https:// passed the check, and Slack refused its
// bookmark in every incident of the service, for an hour of retries. The
// check now names the service and the setting to fix.
func TestCheckRefusesBookmarkLinksWithoutScheme(t *testing.T) {
	t.Parallel()
	env := envOf(map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
	for name, c := range map[string]struct{ yaml, want string }{
		"runbook": {"services:\n  checkout:\n    runbook: wiki.acme.com/checkout\n",
			`services.checkout.runbook: "wiki.acme.com/checkout" is not a web link; begin it with https:// (or http://)`},
		"service dashboard": {"services:\n  checkout:\n    dashboard: ftp://grafana.acme.com/d/x\n",
			`services.checkout.dashboard: "ftp://grafana.acme.com/d/x" is not a web link; begin it with https:// (or http://)`},
		"dashboard": {"channels:\n  dashboard: grafana.acme.com\n",
			`channels.dashboard: "grafana.acme.com" is not a web link; begin it with https:// (or http://)`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			policy := filepath.Join(t.TempDir(), "policy.yaml")
			require.NoError(t, writeFile(policy, c.yaml))
			var out bytes.Buffer
			err := run(context.Background(), []string{"check", "-policy", policy}, env, &out, &out)
			require.Error(t, err, out.String())
			require.Contains(t, out.String(), c.want)
		})
	}
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, writeFile(policy, "channels:\n  dashboard: https://grafana.acme.com\nservices:\n  checkout:\n    runbook: http://wiki.acme.com/checkout\n"))
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"check", "-policy", policy}, env, &out, &out), out.String())
}
