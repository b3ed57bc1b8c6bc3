package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLogsWriteDurationsReadably: a duration in a log line (a retry's wait,
// a timeout) reads "100ms", not 100000000 nanoseconds, in JSON as in text,
// at the top level and in a group.
func TestLogsWriteDurationsReadably(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := newLogger(&buf, "json", slog.LevelInfo)
	log.Info("socket mode connection problem", "retry_in", 100*time.Millisecond, slog.Group("job", "timeout", 90*time.Second), "attempt", 3)
	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line), buf.String())
	require.Equal(t, "100ms", line["retry_in"])
	require.Equal(t, map[string]any{"timeout": "1m30s"}, line["job"])
	require.Equal(t, float64(3), line["attempt"], "other numbers stay numbers")

	buf.Reset()
	newLogger(&buf, "text", slog.LevelInfo).Info("waited", "waited", 2*time.Second)
	require.Contains(t, buf.String(), "waited=2s")
}
