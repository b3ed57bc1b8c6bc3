package incidenttest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

func testExports(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	b := create(t, s)
	_, err := s.GetExport(ctx, a.ID, "confluence")
	RequireCode(t, err, incident.ENOTFOUND)

	first := incident.ExportRef{Target: "confluence", ID: "98765", URL: "https://acme.atlassian.net/wiki/pages/98765", Version: 1}
	require.NoError(t, s.SaveExport(ctx, a.ID, first))
	got, err := s.GetExport(ctx, a.ID, "confluence")
	require.NoError(t, err)
	require.Equal(t, &first, got)

	pr := incident.ExportRef{Target: "github", ID: "42", URL: "https://github.com/acme/postmortems/pull/42",
		Version: 1, Digest: "3b18e512dba79e4c8300dd08aeb37f8e728b8dad"}
	require.NoError(t, s.SaveExport(ctx, a.ID, pr))
	second := first
	second.Version = 2
	require.NoError(t, s.SaveExport(ctx, a.ID, second), "a re-export replaces the record")
	got, err = s.GetExport(ctx, a.ID, "confluence")
	require.NoError(t, err)
	require.Equal(t, &second, got)
	got, err = s.GetExport(ctx, a.ID, "github")
	require.NoError(t, err)
	require.Equal(t, &pr, got, "each target has its own record")
	pr.Version, pr.Digest = 2, "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
	require.NoError(t, s.SaveExport(ctx, a.ID, pr))
	got, err = s.GetExport(ctx, a.ID, "github")
	require.NoError(t, err)
	require.Equal(t, &pr, got, "a re-export replaces what the exporter last wrote")
	pr.Pending = "9daeafb9864cf43055ae93beb0afd6c7d144bfa4"
	require.NoError(t, s.SaveExport(ctx, a.ID, pr))
	got, err = s.GetExport(ctx, a.ID, "github")
	require.NoError(t, err)
	require.Equal(t, &pr, got, "what the exporter is about to write is kept")
	pr.Version, pr.Digest, pr.Pending = 3, pr.Pending, ""
	require.NoError(t, s.SaveExport(ctx, a.ID, pr))
	got, err = s.GetExport(ctx, a.ID, "github")
	require.NoError(t, err)
	require.Equal(t, &pr, got, "a finished export leaves nothing pending")

	_, err = s.GetExport(ctx, b.ID, "confluence")
	RequireCode(t, err, incident.ENOTFOUND)
	_, err = s.GetExport(ctx, a.ID, "")
	RequireCode(t, err, incident.ENOTFOUND)

	RequireCode(t, s.SaveExport(ctx, a.ID+b.ID+1000, first), incident.ENOTFOUND)
	RequireCode(t, s.SaveExport(ctx, a.ID, incident.ExportRef{ID: "1"}), incident.EINVALID)
	got, err = s.GetExport(ctx, a.ID, "confluence")
	require.NoError(t, err)
	require.Equal(t, &second, got)
}
