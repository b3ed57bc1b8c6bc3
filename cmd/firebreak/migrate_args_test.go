package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMigrateArgumentsCheckedBeforeTheDatabase: migrate with arguments it
// does not take prints its usage and touches nothing: no SQLite file is
// created, and a missing one is not blamed for the arguments.
func TestMigrateArgumentsCheckedBeforeTheDatabase(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{}, {"up", "extra"}, {"sideways"}, {"down", "some"}, {"down", "all", "extra"}, {"status", "now"}} {
		path := filepath.Join(t.TempDir(), "x.db")
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"migrate"}, args...), envOf(map[string]string{"SQLITE_PATH": path}), &out, &out)
		require.Error(t, err, "%q", args)
		require.Contains(t, err.Error(), "usage: firebreak migrate up|down|down all|status", "%q", args)
		require.NotContains(t, err.Error(), "no schema to", "%q", args)
		_, statErr := os.Stat(path)
		require.ErrorIs(t, statErr, fs.ErrNotExist, "%q created %s", args, path)
	}
}
