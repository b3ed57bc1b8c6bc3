package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// lockedBuffer is a log destination written by River's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns the logged records whose message contains msg.
func (l *lockedBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		if m, _ := rec["msg"].(string); strings.Contains(m, msg) {
			out = append(out, rec)
		}
	}
	return out
}

func TestRepeatsAreLoggedOnceAPeriodWithTheirCount(t *testing.T) {
	t.Parallel()
	var buf lockedBuffer
	log := repeatsLimited(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), time.Minute)
	now := time.Unix(1_700_000_000, 0)
	log.Handler().(*repeatHandler).state.now = func() time.Time { return now }

	for range 10 {
		log.Error("producer: Error fetching jobs", "queue", "urgent", "err", "connection refused")
		log.With("job_id", 7).Info("jobexecutor.JobExecutor: Job errored; retrying")
		log.Debug("producer: Distributed batch of jobs to executors")
		now = now.Add(250 * time.Millisecond)
	}
	fetches := buf.lines(t, "Error fetching jobs")
	require.Len(t, fetches, 1, "the first is logged, the next nine within the minute are not")
	require.Equal(t, "connection refused", fetches[0]["err"])
	require.NotContains(t, fetches[0], "repeated")
	require.Len(t, buf.lines(t, "Job errored"), 1)
	require.Len(t, buf.lines(t, "Distributed batch"), 10, "debug lines, asked for, all pass")

	now = now.Add(time.Minute)
	log.Error("producer: Error fetching jobs", "queue", "urgent", "err", "connection refused")
	fetches = buf.lines(t, "Error fetching jobs")
	require.Len(t, fetches, 2, "a minute on, it is logged again")
	require.EqualValues(t, 9, fetches[1]["repeated"], "saying how many were left out")

	log.Warn("another message")
	require.Len(t, buf.lines(t, "another message"), 1, "each distinct message has its own count")
}

// TestDatabaseOutageLogsFewLines: with its tables gone (as with a database
// that refuses every statement), River's producers fail every poll; the
// engine's log carries each of those messages once, not once a poll.
func TestDatabaseOutageLogsFewLines(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	var buf lockedBuffer
	opts := testOptions()
	opts.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	opts.FetchPollInterval = 20 * time.Millisecond
	opts.HeartbeatInterval = 50 * time.Millisecond
	opts.DeadAfter = time.Second
	e := h.newEngine(t, opts)
	start(t, e)
	_, err := e.takeover.db.ExecContext(context.Background(), "ALTER TABLE river_job RENAME TO river_job_gone")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = e.takeover.db.ExecContext(context.Background(), "ALTER TABLE river_job_gone RENAME TO river_job")
	})
	require.Eventually(t, func() bool { return len(buf.lines(t, "Error fetching jobs")) > 0 }, waitFor, tick)
	time.Sleep(time.Second) // fifty polls of each queue
	require.LessOrEqual(t, len(buf.lines(t, "Error fetching jobs")), 1, "one line for the failing fetches, not one a poll")
}

// TestRepeatsLeftOutAreCountedWhenTheyStop: a message repeats, then stops
// (the database is back). What was left out since its last line is still
// counted: by the next line of another message once the period is over,
// or when the engine stops, whichever comes first.
func TestRepeatsLeftOutAreCountedWhenTheyStop(t *testing.T) {
	t.Parallel()
	var buf lockedBuffer
	log := repeatsLimited(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})), time.Minute)
	now := time.Unix(1_700_000_000, 0)
	log.Handler().(*repeatHandler).state.now = func() time.Time { return now }

	for range 5 {
		log.Error("producer: Error fetching jobs", "queue", "urgent")
		now = now.Add(time.Second)
	}
	require.Len(t, buf.lines(t, "Error fetching jobs"), 1)
	log.Info("job engine took back jobs")
	require.Len(t, buf.lines(t, "Error fetching jobs"), 1, "within the period, the count waits")

	now = now.Add(time.Minute)
	log.Info("job engine took back jobs")
	fetches := buf.lines(t, "Error fetching jobs")
	require.Len(t, fetches, 2, "the period over, another line says the count")
	require.EqualValues(t, 4, fetches[1]["repeated"])

	for range 3 {
		log.With("job_id", 7).Warn("jobexecutor.JobExecutor: Job errored; retrying")
	}
	flushRepeats(t.Context(), log)
	errored := buf.lines(t, "Job errored")
	require.Len(t, errored, 2, "the stop says what is still left out")
	require.EqualValues(t, 2, errored[1]["repeated"])
	require.EqualValues(t, 7, errored[1]["job_id"], "as the line it stands for")
	flushRepeats(t.Context(), log)
	require.Len(t, buf.lines(t, "Job errored"), 2, "once")
}
