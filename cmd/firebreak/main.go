// Command firebreak is an incident-commander Slack bot: one binary that
// declares incidents, runs the war room, pages on-call and writes the first
// draft of the postmortem.
//
// Usage:
//
//	firebreak [serve]                 run the bot (the default)
//	firebreak demo                    play a scripted incident against local stand-ins
//	firebreak check                   validate the configuration, policy file and templates
//	firebreak migrate up|down|status  manage the database schema
//	firebreak healthcheck             probe /healthz of a running bot (for containers)
//	firebreak version                 print the version
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "firebreak: %v\n", err)
		os.Exit(1)
	}
}

const usage = `usage: firebreak [command] [-h]

commands:
  serve                 run the bot (default); runs the same checks as check first
  check                 validate the environment, the policy file and the templates, then exit
  demo                  play a scripted P1 against built-in stand-ins; no Slack app needed
  migrate up            apply every pending database migration
  migrate down          roll back the latest migration
  migrate down all      roll back every migration
  migrate status        list migrations and whether each is applied
  healthcheck           exit 0 when the bot's admin listener (ADMIN_ADDR) answers /healthz
  version               print the version, commit and build date

Configuration comes from environment variables; see the README.
To try it with no Slack app and no setup: firebreak demo`

// commandHelp is each subcommand's -h text.
var commandHelp = map[string]string{
	"serve": `usage: firebreak serve

Runs the bot: checks the configuration, the policy file and the templates,
applies pending migrations, then serves Slack (Socket Mode or HTTP) and the
webhooks on HTTP_ADDR, and /metrics, /readyz, /serving and /healthz on ADMIN_ADDR,
until SIGTERM or SIGINT. Socket Mode needs SLACK_BOT_TOKEN and
SLACK_APP_TOKEN; HTTP mode needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET.
See the README.`,
	"check": `usage: firebreak check [-policy FILE] [-templates DIR]

Validates what serve would start with, without starting anything or calling
out: every environment variable, the policy file (POLICY_FILE, or -policy),
with line numbers and suggestions for unknown keys, and every template
(embedded, or overridden in TEMPLATES_DIR or -templates) by rendering it
against a sample incident. Prints every problem at once and exits 1 when
there is one.`,
	"demo": `usage: firebreak demo

Plays a scripted P1 from declare to the exported postmortem, with the real
bot against built-in local stand-ins for Slack, PagerDuty, GitHub and
LaunchDarkly, on a temporary SQLite database. Needs no configuration and no
network; exits non-zero naming the step that failed, if one does.`,
	"migrate": `usage: firebreak migrate up|down|down all|status

Manages the schema of DATABASE_URL (or of the SQLite file SQLITE_PATH): up
applies every pending migration, down rolls back the latest one, down all
rolls back every one, status lists them. serve applies pending migrations
at start by itself.`,
	"healthcheck": `usage: firebreak healthcheck

Exits 0 when the bot on this host answers /healthz on ADMIN_ADDR, for
container health checks in images that have no shell or curl.`,
	"version": `usage: firebreak version

Prints the release version, commit and build date.`,
}

// wantsHelp reports -h, --help or help among a subcommand's arguments.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help", "help":
			return true
		}
	}
	return false
}

// run is the whole program; main only supplies the process's environment,
// so tests can run the real program in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, opts ...runOption) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "help", "-h", "-help", "--help":
		_, err := fmt.Fprintln(stdout, usage)
		return err
	}
	if help, ok := commandHelp[cmd]; ok && wantsHelp(args) {
		_, err := fmt.Fprintln(stdout, help)
		return err
	}
	sub, ok := subcommands[cmd]
	if !ok {
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
	if sub.noArgs && len(args) > 0 {
		return fmt.Errorf("%s takes no arguments, got %q\n%s", cmd, args, commandHelp[cmd])
	}
	return sub.run(ctx, invocation{args: args, getenv: getenv, stdout: stdout, stderr: stderr, opts: opts})
}

// invocation is what a subcommand is run with.
type invocation struct {
	args           []string
	getenv         func(string) string
	stdout, stderr io.Writer
	opts           []runOption
}

// subcommand is one of firebreak's commands; noArgs ones refuse arguments.
type subcommand struct {
	noArgs bool
	run    func(context.Context, invocation) error
}

var subcommands = map[string]subcommand{
	"serve": {noArgs: true, run: func(ctx context.Context, in invocation) error {
		cfg, err := LoadConfig(in.getenv)
		if err != nil {
			return err
		}
		for _, o := range in.opts {
			o(&cfg)
		}
		return serve(ctx, cfg, in.stderr)
	}},
	"check": {run: func(_ context.Context, in invocation) error {
		return checkCommand(in.args, in.getenv, in.stdout)
	}},
	"migrate": {run: func(ctx context.Context, in invocation) error {
		if _, err := migrateMove(in.args); err != nil {
			return err
		}
		cfg, err := loadConfig(in.getenv, false)
		if err != nil {
			return err
		}
		return migrateCommand(ctx, cfg, in.args, in.stdout)
	}},
	"healthcheck": {noArgs: true, run: func(ctx context.Context, in invocation) error {
		cfg, err := loadConfig(in.getenv, false)
		if err != nil {
			return err
		}
		return healthcheck(ctx, cfg.AdminAddr)
	}},
	"demo": {noArgs: true, run: func(ctx context.Context, in invocation) error {
		return demo(ctx, in.stdout, in.stderr)
	}},
	"version": {noArgs: true, run: func(_ context.Context, in invocation) error {
		_, err := fmt.Fprintln(in.stdout, currentBuild().String())
		return err
	}},
}

// healthcheck probes /healthz on the local listener, for container health
// checks in images that have no shell or curl.
func healthcheck(ctx context.Context, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("ADMIN_ADDR: %w", err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /healthz answered %s", resp.Status)
	}
	return nil
}

// runOption adjusts what the environment cannot say, for tests that run the
// real program: the clock the domain tells the time by.
type runOption func(*Config)

// withClock makes the program tell the time by c: reminders, digests and
// scheduled drills fall due by it. Durable timers still wait in real time.
//
//lint:ignore U1000 the hook for end-to-end tests that run the program on a fake clock
func withClock(c incident.Clock) runOption { return func(cfg *Config) { cfg.Clock = c } }
