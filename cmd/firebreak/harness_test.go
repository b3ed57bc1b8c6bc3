package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

const testSigningSecret = "e2e-signing-secret"

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// botInstance is the real program, running in-process against a fake Slack.
type botInstance struct {
	t      testing.TB
	base   string // http://127.0.0.1:port, the public listener
	admin  string // the admin listener
	slack  *slackfake.Server
	driver *slackfake.Driver
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
	// pid is the program's process when it runs as a child process
	// (botOptions.process), else 0.
	pid int
}

// handedOut remembers the addresses freeAddr gave, so two listeners of
// this test process (a bot's public and admin ports, or two bots) are never
// given the same port: the kernel may hand a just-closed port out again.
var handedOut = struct {
	sync.Mutex
	addrs map[string]bool
}{addrs: map[string]bool{}}

// freeAddr returns a loopback address no listener holds now and that no
// other call in this process has returned.
func freeAddr(t testing.TB) string {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		if !handedOut.addrs[addr] {
			handedOut.addrs[addr] = true
			return addr
		}
	}
	t.Fatal("no free loopback port found in 100 tries")
	return ""
}

// botOptions describes one run of the program.
type botOptions struct {
	mode        string // http or socket
	databaseURL string // "" for a fresh SQLite file
	sqlitePath  string
	slack       *slackfake.Server
	env         map[string]string
	// clock, when set, is the program's clock (withClock).
	clock incident.Clock
	// process runs the program as a process of its own (this test binary
	// run as main, see TestMain), as it runs in production: its heap and
	// its garbage collector hold only the bot, not the fake Slack and the
	// load generator of the test. It cannot take a clock.
	process bool
}

// startBot runs the program and waits until /healthz answers.
func startBot(t testing.TB, o botOptions) *botInstance {
	t.Helper()
	if o.slack == nil {
		o.slack = slackfake.New(slackfake.WithChatWritePublic())
		t.Cleanup(o.slack.Close)
	}
	if o.sqlitePath == "" {
		o.sqlitePath = filepath.Join(t.TempDir(), "firebreak.db")
	}
	// A port freeAddr found free can be taken by another test's connection
	// before the program binds it: the program then exits at once, and is
	// started again on other ports.
	var b *botInstance
	for try := 1; ; try++ {
		var exited error
		b, exited = launchBot(t, o)
		if exited == nil {
			break
		}
		if try < 3 && o.env["HTTP_ADDR"] == "" && strings.Contains(exited.Error()+b.logs.String(), "address already in use") {
			continue
		}
		t.Fatalf("the bot exited at start: %v\n%s", exited, b.logs.String())
	}
	if o.mode == "socket" {
		wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer wcancel()
		require.NoError(t, o.slack.WaitSocketConnected(wctx))
	}
	return b
}

// launchBot runs the program on free ports and waits until /healthz
// answers; it returns the program's error if it exited first, and then has
// registered nothing to stop.
func launchBot(t testing.TB, o botOptions) (*botInstance, error) {
	t.Helper()
	addr, adminAddr := freeAddr(t), freeAddr(t)
	if a := o.env["HTTP_ADDR"]; a != "" {
		addr = a // a test that needs the address up front, such as for PUBLIC_URL
	}
	env := map[string]string{
		"ADMIN_ADDR":           adminAddr,
		"SLACK_BOT_TOKEN":      o.slack.BotToken(),
		"SLACK_SIGNING_SECRET": testSigningSecret,
		"SLACK_API_URL":        o.slack.URL(),
		"SLACK_MODE":           o.mode,
		"HTTP_ADDR":            addr,
		"SQLITE_PATH":          o.sqlitePath,
		"DATABASE_URL":         o.databaseURL,
		"LOG_FORMAT":           "json",
		"LOG_LEVEL":            "debug",
		"SHUTDOWN_TIMEOUT":     "10s",
	}
	if o.mode == "socket" {
		env["SLACK_APP_TOKEN"] = o.slack.AppToken()
	}
	for k, v := range o.env {
		env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &botInstance{t: t, base: "http://" + addr, admin: "http://" + adminAddr, slack: o.slack, logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1),
		driver: slackfake.NewDriver(o.slack, testSigningSecret)}
	if o.process {
		b.startProcess(env, o.clock)
	} else {
		go func() {
			var opts []runOption
			if o.clock != nil {
				opts = append(opts, withClock(o.clock))
			}
			b.done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, io.Discard, b.logs, opts...)
		}()
	}
	// Whatever holds a taken port may never answer: each look is bounded.
	probe := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-b.done:
			cancel()
			if err == nil {
				err = errors.New("exited without an error")
			}
			return b, err
		default:
		}
		if resp, err := probe.Get(b.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Cleanup(func() { b.stop() })
			t.Fatalf("the bot did not answer /healthz within 20 s\n%s", b.logs.String())
		}
	}
	t.Cleanup(func() { b.stop() })
	return b, nil
}

// startProcess runs the program with env as a child process; stop sends
// it SIGTERM.
func (b *botInstance) startProcess(env map[string]string, clock incident.Clock) {
	b.t.Helper()
	if clock != nil {
		b.t.Fatal("a bot in a process of its own cannot take the test's clock")
	}
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = append(os.Environ(), "FIREBREAK_RUN_MAIN=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, b.logs
	require.NoError(b.t, cmd.Start())
	b.pid = cmd.Process.Pid
	b.cancel = func() { _ = cmd.Process.Signal(syscall.SIGTERM) }
	go func() { b.done <- cmd.Wait() }()
}

// stop shuts the program down as SIGTERM does and requires a clean exit.
func (b *botInstance) stop() {
	if b.cancel == nil {
		return
	}
	b.cancel()
	b.cancel = nil
	select {
	case err := <-b.done:
		require.NoError(b.t, err, "the bot exits cleanly on shutdown")
	case <-time.After(20 * time.Second):
		b.t.Fatalf("the bot did not stop within 20s\n%s", b.logs.String())
	}
	require.NotContains(b.t, b.logs.String(), b.slack.BotToken(), "the bot token never reaches the logs")
	require.NotContains(b.t, b.logs.String(), testSigningSecret, "the signing secret never reaches the logs")
}

// get fetches path from the listener that serves it: /readyz, /metrics and
// /debug/ from the admin listener, the rest from the public one.
func (b *botInstance) get(path string) (int, string) {
	b.t.Helper()
	base := b.base
	if strings.HasPrefix(path, "/readyz") || strings.HasPrefix(path, "/metrics") || strings.HasPrefix(path, "/debug/") {
		base = b.admin
	}
	resp, err := http.Get(base + path)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return resp.StatusCode, string(body)
}

// command runs a slash command over the instance's transport and returns
// the immediate reply's text.
func (b *botInstance) command(mode, user, channel, text string) (*slackfake.Reply, string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := slack.SlashCommand{Command: "/incident", Text: text, UserID: user, ChannelID: channel}
	var (
		r   *slackfake.Reply
		err error
	)
	if mode == "socket" {
		r, err = b.driver.SocketSlashCommand(ctx, cmd)
	} else {
		r, err = b.driver.SlashCommand(ctx, b.base+"/slack/commands", cmd)
		require.NoError(b.t, err)
		require.Equal(b.t, http.StatusOK, r.StatusCode, string(r.Body))
	}
	require.NoError(b.t, err)
	require.Empty(b.t, r.MessageProblem, "Slack would not show the answer to %q", text)
	var reply struct {
		Text string `json:"text"`
	}
	if len(r.Body) > 0 {
		require.NoError(b.t, json.Unmarshal(r.Body, &reply), string(r.Body))
	}
	return r, reply.Text
}

// metricSum returns the sum of every sample of one metric on /metrics.
func (b *botInstance) metricSum(name string) float64 {
	b.t.Helper()
	_, body := b.get("/metrics")
	var sum float64
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok && (strings.HasPrefix(rest, "{") || strings.HasPrefix(rest, " ")) {
			sum += sampleValue(line)
		}
	}
	return sum
}

// sampleValue is the value at the end of one sample line of /metrics.
func sampleValue(line string) float64 {
	var v float64
	fields := strings.Fields(line)
	_, _ = fmt.Sscan(fields[len(fields)-1], &v)
	return v
}

// metric returns the value of one sample line of /metrics, or 0.
func (b *botInstance) metric(name string, labels ...string) float64 {
	b.t.Helper()
	_, body := b.get("/metrics")
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name) {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(line, l) {
				ok = false
			}
		}
		if ok {
			return sampleValue(line)
		}
	}
	return 0
}

func TestMain(m *testing.M) {
	// Run as the program itself when asked: lets tests check the real exit
	// code and stderr of the binary.
	if os.Getenv("FIREBREAK_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

// arrival returns a channel closed when Slack receives the first call to
// method, before the fake answers it (and before any latency set on it), so
// a test can act while that call is in flight. It takes the fake's call hook.
func arrival(fake *slackfake.Server, method string) <-chan struct{} {
	arrived := make(chan struct{})
	var once sync.Once
	fake.OnCall(func(c slackfake.Call) *slackfake.Fault {
		if c.Method == method {
			once.Do(func() { close(arrived) })
		}
		return nil
	})
	return arrived
}

// await waits for ch to close, failing the test after d.
func await(t testing.TB, ch <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("timed out after %s waiting for %s", d, what)
	}
}

// TestLaunchOnATakenPortSaysSo: a port taken between freeAddr and the
// program's bind makes the program exit at once saying the address is in
// use, which startBot takes as its cue to start it again on other ports.
func TestLaunchOnATakenPortSaysSo(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	o := botOptions{mode: "http", slack: slackfake.New(), sqlitePath: filepath.Join(t.TempDir(), "firebreak.db"),
		env: map[string]string{"HTTP_ADDR": ln.Addr().String()}}
	t.Cleanup(o.slack.Close)
	b, exited := launchBot(t, o)
	require.Error(t, exited)
	require.Contains(t, exited.Error()+b.logs.String(), "address already in use")
}
