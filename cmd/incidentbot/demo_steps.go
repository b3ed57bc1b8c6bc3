package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/incidentbot/incidentbot/integrations/pagerduty/pdfake"
)

// demoSteps is the scripted P1: each step acts as a person or a provider
// would, then waits for the bot's visible answer.
func demoSteps(w *demoWorld) []demoStep {
	today := time.Now().UTC().Format("2006-01-02")
	channelName := "inc-" + today + "-checkout-is-failing"
	var pdIncident string
	return []demoStep{
		{"Alice declares a P1 from #general", func(ctx context.Context) error {
			text, err := w.command(ctx, "U0ALICE", "C0GENERAL", "declare P1 Checkout is failing --service=checkout")
			if err != nil {
				return err
			}
			if !strings.Contains(text, "Declaring INC-1") {
				return fmt.Errorf("unexpected reply %q", text)
			}
			return w.waitFor(ctx, "the incident channel with its pinned control panel", func() bool {
				ch, ok := w.slack.Channel(channelName)
				if ok && len(ch.Pins) == 1 && ch.Topic != "" {
					w.channel = ch.ID
					return true
				}
				return false
			})
		}},
		{"PagerDuty pages on-call and the backup", func(ctx context.Context) error {
			return w.waitFor(ctx, "the page in the channel", func() bool {
				_, ok := w.message(w.channel, "Paged *Checkout* in PagerDuty")
				if incs := w.pd.Incidents(); ok && len(incs) == 1 {
					pdIncident = incs[0].ID
					return true
				}
				return false
			})
		}},
		{"Bob acknowledges the page on his phone", func(ctx context.Context) error {
			fmt.Fprintln(w.out, "PagerDuty app: Bob Roe taps Acknowledge")
			resp, err := w.pd.SendWebhook(ctx, w.base+"/webhooks/pagerduty", demoPDSecret, "incident.acknowledged", pdIncident, "Bob Roe", pdfake.WithEventID("demo-ack-1"))
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("webhook answered %s", resp.Status)
			}
			return w.waitFor(ctx, "the acknowledgement in the channel", func() bool {
				_, ok := w.message(w.channel, "Acknowledged by Bob Roe in PagerDuty")
				return ok
			})
		}},
		{"Bob takes the Incident Commander role", func(ctx context.Context) error {
			if _, err := w.command(ctx, "U0BOB", w.channel, "ic"); err != nil {
				return err
			}
			return w.waitFor(ctx, "the handover line", func() bool {
				_, ok := w.message(w.channel, "Incident Commander handover")
				return ok
			})
		}},
		{"Nobody posts an update: the bot nags (cadence accelerated to " + demoUpdateEvery.String() + ")", func(ctx context.Context) error {
			return w.waitFor(ctx, "an update nag", func() bool {
				_, ok := w.message(w.channel, "needs a status update")
				return ok
			})
		}},
		{"Bob posts a status update", func(ctx context.Context) error {
			if _, err := w.command(ctx, "U0BOB", w.channel, "update Card payments fail for about 40% of users since the 14:02 deploy; investigating the deploy and a flag change"); err != nil {
				return err
			}
			return w.waitFor(ctx, "the update in the channel and in #incidents", func() bool {
				_, inChannel := w.message(w.channel, "Status update — INC-1")
				_, mirrored := w.message("C0INCIDENTS", "Status update — INC-1")
				return inChannel && mirrored
			})
		}},
		{"Bob resolves the incident", func(ctx context.Context) error {
			if _, err := w.command(ctx, "U0BOB", w.channel, "resolve Rolled back the 14:02 deploy; error rate back to baseline"); err != nil {
				return err
			}
			return w.waitFor(ctx, "the resolve line and PagerDuty resolved", func() bool {
				_, ok := w.message(w.channel, "resolved the incident")
				incs := w.pd.Incidents()
				return ok && len(incs) > 0 && incs[0].Status == "resolved"
			})
		}},
		{"Bob closes the incident", func(ctx context.Context) error {
			if _, err := w.command(ctx, "U0BOB", w.channel, "close"); err != nil {
				return err
			}
			return w.waitFor(ctx, "the close line", func() bool {
				_, ok := w.message(w.channel, "closed the incident")
				return ok
			})
		}},
	}
}

// writePostmortem saves the exported Markdown where the reader can open it.
func (w *demoWorld) writePostmortem(name, content string) (string, error) {
	path := filepath.Join(w.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, []byte(content), 0o644)
}
