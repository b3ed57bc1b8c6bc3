package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// crashProcess is the program running as a child process (this test binary
// re-run as main, see TestMain), so that it can be killed with SIGKILL.
type crashProcess struct {
	cmd  *exec.Cmd
	base string
	done chan struct{}
}

func startProcess(t *testing.T, env map[string]string) *crashProcess {
	t.Helper()
	addr, admin := freeAddr(t), freeAddr(t)
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = append(os.Environ(), "FIREBREAK_RUN_MAIN=1", "HTTP_ADDR="+addr, "ADMIN_ADDR="+admin)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logs := &syncBuffer{}
	cmd.Stderr, cmd.Stdout = logs, logs
	require.NoError(t, cmd.Start())
	p := &crashProcess{cmd: cmd, base: "http://" + addr, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	require.Eventually(t, func() bool {
		resp, err := http.Get(p.base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond, "the bot process starts\n%s", logs)
	return p
}

// kill sends SIGKILL: no shutdown, no deferred work, no flushing. Killing
// a dead process again is harmless.
func (p *crashProcess) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// TestCrashDuringDeclare kills the bot process with SIGKILL at a random
// point of a declare, restarts it, and requires exactly one incident,
// channel, pinned panel, announcement and page within 30 s of the restart;
// with one replica, and with two where only one is killed. Trials per
// configuration: FIREBREAK_CRASH_TRIALS (default 20).
func TestCrashDuringDeclare(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts processes many times")
	}
	trials := 20
	if v, err := strconv.Atoi(os.Getenv("FIREBREAK_CRASH_TRIALS")); err == nil && v > 0 {
		trials = v
	}
	for _, replicas := range []int{1, 2} {
		t.Run(fmt.Sprintf("replicas=%d", replicas), func(t *testing.T) {
			var worst time.Duration
			for trial := range trials {
				took := crashTrial(t, replicas, trial)
				worst = max(worst, took)
			}
			t.Logf("%d trials with %d replica(s): slowest recovery %s after the restart", trials, replicas, worst.Round(time.Millisecond))
		})
	}
}

func crashTrial(t *testing.T, replicas, trial int) time.Duration {
	t.Helper()
	dsn := pgtest.DSN(t)
	world, cleanup, err := newDemoWorld(t.TempDir(), nopWriter{})
	require.NoError(t, err)
	defer cleanup()
	fake := world.slack
	// Slack answers a little slowly, so the kill lands inside the setup.
	fake.SetLatency("", 20*time.Millisecond)
	env := reliabilityEnv(t, world, "")
	env["DATABASE_URL"] = dsn
	env["SLACK_BOT_TOKEN"] = fake.BotToken()
	env["SLACK_SIGNING_SECRET"] = testSigningSecret
	env["SLACK_API_URL"] = fake.URL()
	env["SLACK_MODE"] = "http"
	env["LOG_LEVEL"] = "error"
	env["INSTANCE_ID"] = "victim"
	victim := startProcess(t, env)
	if replicas == 2 {
		other := map[string]string{}
		for k, v := range env {
			other[k] = v
		}
		other["INSTANCE_ID"] = "survivor"
		defer startProcess(t, other).kill()
	}

	driver := slackfake.NewDriver(fake, testSigningSecret)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	title := fmt.Sprintf("Crash trial %02d", trial)
	declared := make(chan error, 1)
	go func() {
		r, err := driver.SlashCommand(ctx, victim.base+"/slack/commands", slack.SlashCommand{Command: "/incident",
			UserID: "U0ALICE", ChannelID: "C0GENERAL", Text: "declare P1 --service=checkout " + title})
		if err == nil && !strings.Contains(string(r.Body), "Declaring INC-") {
			err = fmt.Errorf("declare answered %s", r.Body)
		}
		declared <- err
	}()
	// A random point of the declare: before its answer, while the war
	// room is being opened, or after.
	kill := time.NewTimer(time.Duration(rand.IntN(400)) * time.Millisecond)
	<-kill.C
	victim.kill()
	declareErr := <-declared
	restarted := time.Now()
	defer startProcess(t, env).kill() // the same instance id: it takes its own jobs back

	// Killed before the declare was answered, Slack shows the user an error:
	// then either nothing exists or the declare committed whole, and the
	// war room must follow.
	incidents := func() int { return len(world.pd.Incidents()) }
	db, err := gormstore.Open(ctx, dsn)
	require.NoError(t, err)
	defer db.Close()
	stored, err := gormstore.New(db, incident.SystemClock).ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.LessOrEqual(t, len(stored), 1, "trial %d: at most one incident", trial)
	var took time.Duration
	if declareErr == nil || len(stored) == 1 {
		require.Eventually(t, func() bool { return warRoomDone(fake, title) && incidents() == 1 },
			30*time.Second, 50*time.Millisecond, "trial %d: the war room and the page are complete within 30 s of the restart", trial)
		took = time.Since(restarted)
	}
	require.Empty(t, duplicates(fake), "trial %d", trial)
	require.LessOrEqual(t, incidents(), 1, "trial %d: paged at most once", trial)
	channels := 0
	for _, ch := range fake.Channels() {
		if strings.HasPrefix(ch.Name, "inc-") {
			channels++
		}
	}
	require.Equal(t, len(stored), channels, "trial %d: one channel per incident", trial)
	require.Equal(t, len(stored), incidents(), "trial %d: one page per incident", trial)
	return took
}
