// Command firebreak is an incident-commander Slack bot: one binary that
// declares incidents, runs the war room, pages on-call and writes the first
// draft of the postmortem.
//
// Usage:
//
//	firebreak [serve]                 run the bot (the default)
//	firebreak demo                    play a scripted incident against local stand-ins
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
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "firebreak: %v\n", err)
		os.Exit(1)
	}
}

const usage = `usage: firebreak [command]

commands:
  serve                 run the bot (default)
  demo                  play a scripted P1 against built-in stand-ins; no Slack app needed
  migrate up            apply every pending database migration
  migrate down          roll back the latest migration
  migrate down all      roll back every migration
  migrate status        list migrations and whether each is applied
  healthcheck           exit 0 when the bot on HTTP_ADDR answers /healthz
  version               print the version

Configuration comes from environment variables; see the README.`

// run is the whole program; main only supplies the process's environment,
// so tests can run the real program in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		cfg, err := LoadConfig(getenv)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, stderr)
	case "migrate":
		cfg, err := loadConfig(getenv, false)
		if err != nil {
			return err
		}
		return migrateCommand(ctx, cfg, args, stdout)
	case "healthcheck":
		cfg, err := loadConfig(getenv, false)
		if err != nil {
			return err
		}
		return healthcheck(ctx, cfg.HTTPAddr)
	case "demo":
		return demo(ctx, stdout, stderr)
	case "version":
		_, err := fmt.Fprintf(stdout, "firebreak %s\n", version)
		return err
	case "help", "-h", "--help":
		_, err := fmt.Fprintln(stdout, usage)
		return err
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

// healthcheck probes /healthz on the local listener, for container health
// checks in images that have no shell or curl.
func healthcheck(ctx context.Context, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
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
