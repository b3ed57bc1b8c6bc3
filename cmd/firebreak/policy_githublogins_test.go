package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// github_logins maps Slack users to GitHub logins, for assigning the
// issues of their action items; a key that is no Slack user id or a value
// that is no GitHub login is reported with its path.
func TestLoadPolicyGitHubLogins(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(path, []byte("github_logins:\n  U04DEV: dpatel\n  W0ADA: ada-l\n"), 0o600))
	p, err := LoadPolicy(path)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"U04DEV": "dpatel", "W0ADA": "ada-l"}, p.GitHubLogins)

	require.NoError(t, os.WriteFile(path, []byte("github_logins:\n  \"@dev\": dpatel\n  U04BOB: -bob\n"), 0o600))
	_, err = LoadPolicy(path)
	require.ErrorContains(t, err, `github_logins.@dev: "@dev" is not a Slack user id`)
	require.ErrorContains(t, err, `github_logins.U04BOB: "-bob" is not a GitHub login`)
}
