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
