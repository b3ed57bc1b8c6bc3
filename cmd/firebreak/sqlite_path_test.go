package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// TestUnwritableSQLitePathNamesTheSetting: a SQLITE_PATH that cannot be
// created (its directory is missing, or the image's working directory is
// read-only) stops serve and migrate with a message naming SQLITE_PATH and
// the file, as every other bad setting does.
func TestUnwritableSQLitePathNamesTheSetting(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(slackfake.WithChatWritePublic())
	t.Cleanup(fake.Close)
	path := filepath.Join(t.TempDir(), "missing-dir", "firebreak.db")
	env := map[string]string{
		"SLACK_BOT_TOKEN": fake.BotToken(), "SLACK_SIGNING_SECRET": testSigningSecret, "SLACK_API_URL": fake.URL(),
		"SLACK_MODE": "http", "HTTP_ADDR": freeAddr(t), "ADMIN_ADDR": freeAddr(t), "SQLITE_PATH": path, "LOG_FORMAT": "json",
	}
	for _, args := range [][]string{{"serve"}, {"migrate", "up"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var logs syncBuffer
		err := run(ctx, args, func(k string) string { return env[k] }, io.Discard, &logs)
		cancel()
		require.Error(t, err, "%s", args)
		require.True(t, strings.HasPrefix(err.Error(), "SQLITE_PATH: "), "%s: the error starts with the setting: %v", args, err)
		require.Contains(t, err.Error(), path, "%s: and names the file", args)
		require.Contains(t, err.Error(), "directory", "%s: and says what to check", args)
	}
}

// TestReadOnlySQLiteDirectoryNamesTheSetting: an existing directory this
// process cannot write to (the release image's working directory) is named
// with what to do about it.
func TestReadOnlySQLiteDirectoryNamesTheSetting(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root writes to any directory")
	}
	dir := filepath.Join(t.TempDir(), "ro")
	require.NoError(t, os.Mkdir(dir, 0o500))
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	path := filepath.Join(dir, "firebreak.db")
	env := map[string]string{"SQLITE_PATH": path}
	err := run(context.Background(), []string{"migrate", "up"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "SQLITE_PATH: "), "%v", err)
	require.Contains(t, err.Error(), path)
	require.Contains(t, err.Error(), "must be writable")
}

// TestSQLitePathOfADirectoryNamesTheSetting: SQLITE_PATH set to a directory
// (the volume, not a file in it) says so.
func TestSQLitePathOfADirectoryNamesTheSetting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"SQLITE_PATH": dir}
	err := run(context.Background(), []string{"migrate", "status"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "SQLITE_PATH: "), "%v", err)
	require.Contains(t, err.Error(), dir)
	require.Contains(t, err.Error(), "is a directory")
}

// TestUnreachableDatabaseURLNamesTheSetting: a DATABASE_URL that does not
// answer is named, without repeating its text (it holds the password).
func TestUnreachableDatabaseURLNamesTheSetting(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": "postgres://firebreak:s3cret-pw@" + freeAddr(t) + "/firebreak?sslmode=disable&connect_timeout=2"}
	err := run(context.Background(), []string{"migrate", "status"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "DATABASE_URL: "), "%v", err)
	require.NotContains(t, err.Error(), "s3cret-pw")
}

// TestMigrateStatusDoesNotCreateTheDatabase: "firebreak migrate status"
// where no SQLite file exists (a typo in SQLITE_PATH, the wrong directory)
// says there is no database instead of creating an empty one; down refuses.
// up creates it, as serve does.
func TestMigrateStatusDoesNotCreateTheDatabase(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "firebreak.db")
	env := map[string]string{"SQLITE_PATH": path}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"migrate", "status"}, func(k string) string { return env[k] }, &out, io.Discard))
	require.Contains(t, out.String(), "no database: the SQLite file "+path+" (SQLITE_PATH) does not exist")
	require.NoFileExists(t, path)
	err := run(context.Background(), []string{"migrate", "down"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	require.ErrorContains(t, err, "SQLITE_PATH: the SQLite file "+path+" does not exist")
	require.NoFileExists(t, path)

	require.NoError(t, run(context.Background(), []string{"migrate", "up"}, func(k string) string { return env[k] }, io.Discard, io.Discard))
	require.FileExists(t, path)
	out.Reset()
	require.NoError(t, run(context.Background(), []string{"migrate", "status"}, func(k string) string { return env[k] }, &out, io.Discard))
	require.Contains(t, out.String(), "applied")
	require.NotContains(t, out.String(), "no database")
}
