package main

import (
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestChartOffersEverySecret keeps the Helm chart's secret.values in step
// with the configuration: every setting that has a _FILE form is a secret,
// and the chart must be able to mount it.
func TestChartOffersEverySecret(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	asked := map[string]bool{}
	_, _ = loadConfig(func(k string) string {
		mu.Lock()
		asked[k] = true
		mu.Unlock()
		return ""
	}, true)
	// A secret is read as NAME or NAME_FILE (POLICY_FILE is a path, not one).
	secrets := map[string]bool{}
	for k := range asked {
		if name, ok := strings.CutSuffix(k, "_FILE"); ok && asked[name] {
			secrets[name] = true
		}
	}
	require.NotEmpty(t, secrets)

	b, err := os.ReadFile("../../deploy/helm/firebreak/values.yaml")
	require.NoError(t, err)
	var values struct {
		Secret struct {
			Values map[string]string `yaml:"values"`
		} `yaml:"secret"`
	}
	require.NoError(t, yaml.Unmarshal(b, &values))
	var missing []string
	for name := range secrets {
		if name == "DATABASE_URL" {
			continue // database.existingSecret, or the bundled PostgreSQL's
		}
		if _, ok := values.Secret.Values[name]; !ok {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "deploy/helm/firebreak/values.yaml secret.values lacks these secrets")
	for name := range values.Secret.Values {
		require.True(t, secrets[name], "secret.values.%s is not a setting with a _FILE form", name)
	}
}

// TestChartIngressRoutesThePublicListener checks that the chart's Ingress,
// with its default paths, reaches everything the public listener serves:
// Slack in HTTP mode, the webhooks, and the web view and API with its
// Sign in with Slack callback (PUBLIC_URL/auth/callback).
func TestChartIngressRoutesThePublicListener(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../deploy/helm/firebreak/values.yaml")
	require.NoError(t, err)
	var values struct {
		Ingress struct {
			Hosts []struct {
				Paths []struct {
					Path     string `yaml:"path"`
					PathType string `yaml:"pathType"`
				} `yaml:"paths"`
			} `yaml:"hosts"`
		} `yaml:"ingress"`
	}
	require.NoError(t, yaml.Unmarshal(b, &values))
	require.NotEmpty(t, values.Ingress.Hosts)
	// routed applies Kubernetes' path matching: Exact, or Prefix by whole
	// path elements.
	routed := func(p string) bool {
		for _, rule := range values.Ingress.Hosts[0].Paths {
			switch rule.PathType {
			case "Exact":
				if p == rule.Path {
					return true
				}
			case "Prefix":
				prefix := strings.TrimSuffix(rule.Path, "/")
				if prefix == "" || p == prefix || strings.HasPrefix(p, prefix+"/") {
					return true
				}
			}
		}
		return false
	}
	for _, p := range []string{
		"/slack/commands", "/slack/interactions", "/slack/events",
		"/webhooks/pagerduty", "/webhooks/github", "/webhooks/grafana",
		"/", "/auth/start", "/auth/callback", "/incidents", "/incidents/42", "/incidents/42/timeline.csv",
		"/reports/metrics", "/reports/metrics.csv", "/admin/tokens", "/static/app.css",
		"/api/v1/incidents", "/api/v1/openapi.json",
	} {
		require.True(t, routed(p), "the chart's Ingress does not route %s to the public listener", p)
	}
}
