package templates_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident/comms"
	"github.com/firebreakhq/firebreak/templates"
)

var updateComms = flag.Bool("update-comms", false, "rewrite the comms golden files")

func TestCommsDraftsGolden(t *testing.T) {
	t.Parallel()
	set, err := templates.Load("")
	require.NoError(t, err)
	start := time.Date(2026, 8, 7, 14, 2, 0, 0, time.UTC)
	data := comms.Data{
		Key: "INC-42", Title: "Checkout is down", Severity: "P1", Affected: "Checkout",
		Impact:       "Some customers could not complete a purchase.",
		LatestUpdate: "We have found the cause and are rolling back a recent change.",
		Summary:      "A change released at 14:02 made the payment page time out. We undid the change at 14:51.",
		StartedAt:    start, ResolvedAt: start.Add(49 * time.Minute), Duration: 49 * time.Minute,
		NextUpdateMinutes: 30, Now: start.Add(31 * time.Minute), Signature: "The Acme team",
	}
	for _, tpl := range comms.Templates {
		got, err := set.Render(tpl.Name, data)
		require.NoError(t, err, tpl.Name)
		path := filepath.Join("testdata", strings.TrimSuffix(tpl.Name, ".tmpl")+".golden")
		if *updateComms {
			require.NoError(t, os.MkdirAll("testdata", 0o755))
			require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err, "run go test ./templates -update-comms to create %s", path)
		require.Equal(t, string(want), got, tpl.Name)
		require.NotContains(t, got, "<no value>")
	}

	// An unresolved incident renders without a resolution time.
	data.ResolvedAt = time.Time{}
	data.Summary = ""
	got, err := set.Render("comms_customer_email.tmpl", data)
	require.NoError(t, err)
	require.Contains(t, got, "we are still working on it")
	require.Contains(t, got, "[Describe how the problem was fixed.]")
	data.Duration = 0
	got, err = set.Render("comms_resolution.tmpl", data)
	require.NoError(t, err)
	require.NotContains(t, got, "lasted", "an open incident has not lasted anything yet")
}

func TestOverridesFailFastWithFileAndLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "comms_resolution.tmpl")
	require.NoError(t, os.WriteFile(good, []byte("Fixed: {{.Affected}}"), 0o644))
	set, err := templates.Load(dir)
	require.NoError(t, err)
	got, err := set.Render("comms_resolution.tmpl", comms.Data{Affected: "Checkout"})
	require.NoError(t, err)
	require.Equal(t, "Fixed: Checkout", got, "the override replaces the embedded template")

	bad := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bad, "comms_resolution.tmpl"), []byte("line one\n{{.Affected"), 0o644))
	_, err = templates.Load(bad)
	require.Error(t, err)
	require.Contains(t, err.Error(), "comms_resolution.tmpl:2", "the error names the file and line")

	unknown := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(unknown, "comms_resolutoin.tmpl"), []byte("x"), 0o644))
	_, err = templates.Load(unknown)
	require.ErrorContains(t, err, "overrides no template")

	_, err = templates.Load(filepath.Join(dir, "missing"))
	require.ErrorContains(t, err, "TEMPLATES_DIR")
}
