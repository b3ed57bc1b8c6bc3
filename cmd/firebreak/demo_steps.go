package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// demoSteps is the scripted P1: each step acts as a person or a provider
// would, then waits for the bot's visible answer.
func demoSteps(w *demoWorld) []demoStep {
	s := &demoScript{
		demoWorld:   w,
		channelName: "inc-" + time.Now().UTC().Format("2006-01-02") + "-checkout-is-failing",
	}
	return []demoStep{
		{"Alice declares a P1 from #general", s.declare},
		{"PagerDuty pages on-call and the backup", s.paged},
		{"The status page clock: Alice publishes the draft within the 10 minutes", s.publishDraft},
		{"Bob acknowledges the page on his phone", s.acknowledge},
		{"Bob takes the Incident Commander role", s.takeCommand},
		{"Nobody posts an update: the bot nags (cadence accelerated to " + demoUpdateEvery.String() + ")", s.nagged},
		{"Bob posts a status update", s.postUpdate},
		{"What changed? lists the deploy and the flag change before the start", s.listChanges},
		{"Bob rolls back the deploy: the guarded modal, the dispatch, the progress", s.rollBack},
		{"Bob resolves the incident", s.resolve},
		{"Bob posts the resolution notice on the status page", s.publishResolution},
		{"Bob closes the incident", s.close},
		{"Bob exports the postmortem to GitHub", s.exportPostmortem},
	}
}

// demoScript carries what one step learns for the later ones: the incident
// channel's name and the PagerDuty incident the page opened.
type demoScript struct {
	*demoWorld
	channelName string
	pdIncident  string
}

func (w *demoScript) declare(ctx context.Context) error {
	text, err := w.command(ctx, "U0ALICE", "C0GENERAL", "declare P1 --service=checkout Checkout is failing")
	if err != nil {
		return err
	}
	if !strings.Contains(text, "Declaring INC-1") {
		return fmt.Errorf("unexpected reply %q", text)
	}
	return w.waitFor(ctx, "the incident channel with its pinned control panel", func() bool {
		ch, ok := w.slack.Channel(w.channelName)
		if ok && len(ch.Pins) == 1 && ch.Topic != "" {
			w.channel = ch.ID
			return true
		}
		return false
	})
}

func (w *demoScript) paged(ctx context.Context) error {
	return w.waitFor(ctx, "the page in the channel", func() bool {
		_, ok := w.message(w.channel, "Paged *Checkout* in PagerDuty")
		if incs := w.pd.Incidents(); ok && len(incs) == 1 {
			w.pdIncident = incs[0].ID
			return true
		}
		return false
	})
}

func (w *demoScript) publishDraft(ctx context.Context) error {
	if err := w.waitFor(ctx, "the status page draft with Publish, Edit and Not customer-facing", func() bool {
		m, ok := w.message(w.channel, "Status page draft for INC-1")
		return ok && strings.Contains(string(m.Blocks), "statuspage_decline")
	}); err != nil {
		return err
	}
	draft, _ := w.message(w.channel, "Status page draft for INC-1")
	values := buttonValues(draft, "statuspage_publish")
	if len(values) == 0 {
		return fmt.Errorf("no Publish button on the draft")
	}
	if err := w.click(ctx, "U0ALICE", w.channel, "statuspage_publish", values[0]); err != nil {
		return err
	}
	return w.waitFor(ctx, "the public incident and its link in the channel", func() bool {
		_, ok := w.message(w.channel, "Posted on the status page")
		if incs := w.sp.Incidents(); ok && len(incs) == 1 {
			fmt.Fprintf(w.out, "Statuspage: %q is public at %s; components %s\n", incs[0].Name, incs[0].Shortlink, w.sp.Component("cmpcheckoutapi"))
			return true
		}
		return false
	})
}

func (w *demoScript) acknowledge(ctx context.Context) error {
	fmt.Fprintln(w.out, "PagerDuty app: Bob Roe taps Acknowledge")
	resp, err := w.pd.SendWebhook(ctx, w.base+"/webhooks/pagerduty", demoPDSecret, "incident.acknowledged", w.pdIncident, "Bob Roe", pdfake.WithEventID("demo-ack-1"))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return w.waitForMessage(ctx, "the acknowledgement in the channel", "Acknowledged by Bob Roe in PagerDuty")
}

func (w *demoScript) takeCommand(ctx context.Context) error {
	if _, err := w.command(ctx, "U0BOB", w.channel, "ic"); err != nil {
		return err
	}
	return w.waitForMessage(ctx, "the handover line", "Incident Commander handover")
}

func (w *demoScript) nagged(ctx context.Context) error {
	return w.waitForMessage(ctx, "an update nag", "needs a status update")
}

func (w *demoScript) postUpdate(ctx context.Context) error {
	if _, err := w.command(ctx, "U0BOB", w.channel, "update Card payments fail for about 40% of users since the "+w.deployedAt.Format("15:04")+" deploy; investigating the deploy and a flag change"); err != nil {
		return err
	}
	return w.waitFor(ctx, "the update in the channel and in #incidents", func() bool {
		_, inChannel := w.message(w.channel, "Status update — INC-1")
		_, mirrored := w.message("C0INCIDENTS", "Status update — INC-1")
		return inChannel && mirrored
	})
}

func (w *demoScript) listChanges(ctx context.Context) error {
	var list slackfake.Message
	if err := w.waitFor(ctx, "the changes list with its rollback buttons", func() bool {
		m, ok := w.message(w.channel, "rollback_open")
		list = m
		return ok && strings.Contains(string(m.Blocks), "acme/checkout") && strings.Contains(string(m.Blocks), "new-checkout-flow")
	}); err != nil {
		return err
	}
	fmt.Fprintln(w.out, "The changes listed:")
	for _, line := range blockLines(list.Blocks) {
		fmt.Fprintf(w.out, "    %s\n", indentLines(w.printer.render(line), "    "))
	}
	return nil
}

// rollBack opens the deploy's rollback modal, submits it, lets the
// dispatched workflow finish and reports its end to the bot.
func (w *demoScript) rollBack(ctx context.Context) error {
	list, _ := w.message(w.channel, "rollback_open")
	value := lastButtonValue(list, "rollback_open", func(v string) bool { return strings.HasPrefix(v, "github|") })
	if value == "" {
		return fmt.Errorf("no Roll back button for the deploy")
	}
	if err := w.click(ctx, "U0BOB", w.channel, "rollback_open", value); err != nil {
		return err
	}
	if err := w.confirmRollback(ctx); err != nil {
		return err
	}
	runID, err := w.dispatchedRun(ctx)
	if err != nil {
		return err
	}
	if err := w.finishRun(ctx, runID); err != nil {
		return err
	}
	return w.waitForMessage(ctx, "the rollback's success in the channel", "succeeded")
}

// confirmRollback waits for the rollback modal and submits it with a reason.
func (w *demoScript) confirmRollback(ctx context.Context) error {
	var view slackfake.View
	if err := w.waitFor(ctx, "the rollback confirmation", func() bool {
		for _, v := range w.slack.OpenViews() {
			if v.CallbackID == "rollback" {
				view = v
				return true
			}
		}
		return false
	}); err != nil {
		return err
	}
	fmt.Fprintf(w.out, "modal \"%s\": %s\n", view.Title, modalText(view))
	fmt.Fprintln(w.out, "Bob clicks [Roll back] in the modal")
	cb, err := slackfake.ViewSubmission("U0BOB", view, map[string]map[string]slack.BlockAction{
		"rollback_reason": {"rollback_reason": {Value: "error rate started with this deploy"}}})
	if err != nil {
		return err
	}
	if r, err := w.driver.Interaction(ctx, w.base+"/slack/interactions", cb); err != nil || r.StatusCode != http.StatusOK {
		return fmt.Errorf("submit the rollback: %v", err)
	}
	return nil
}

// dispatchedRun waits for the deploy workflow dispatched with the last good
// SHA and returns its run.
func (w *demoScript) dispatchedRun(ctx context.Context) (int64, error) {
	var runID int64
	err := w.waitFor(ctx, "the deploy workflow dispatched with the last good SHA", func() bool {
		for _, d := range w.gh.Dispatches(demoRepo) {
			if d.Inputs["sha"] == "1a2b3c4d5e6f708192a3b4c5d6e7f80912345678" && d.RunID != 0 {
				runID = d.RunID
				return true
			}
		}
		return false
	})
	return runID, err
}

// finishRun completes the workflow run and sends GitHub's workflow_run webhook.
func (w *demoScript) finishRun(ctx context.Context, runID int64) error {
	fmt.Fprintf(w.out, "GitHub Actions: %s run %d finishes successfully\n", demoWorkflow, runID)
	if err := w.gh.CompleteRun(demoRepo, runID, "success"); err != nil {
		return err
	}
	payload, err := w.gh.WorkflowRunPayload(demoRepo, runID)
	if err != nil {
		return err
	}
	if code, err := w.gh.SendWebhook(ctx, w.base+"/webhooks/github", demoGHSecret, "workflow_run", payload); err != nil || code != http.StatusOK {
		return fmt.Errorf("workflow_run webhook: %d %v", code, err)
	}
	return nil
}

func (w *demoScript) resolve(ctx context.Context) error {
	if _, err := w.command(ctx, "U0BOB", w.channel, "resolve Rolled back the "+w.deployedAt.Format("15:04")+" deploy; error rate back to baseline"); err != nil {
		return err
	}
	return w.waitFor(ctx, "the resolve line and PagerDuty resolved", func() bool {
		_, ok := w.message(w.channel, "resolved the incident")
		incs := w.pd.Incidents()
		return ok && len(incs) > 0 && incs[0].Status == "resolved"
	})
}

func (w *demoScript) publishResolution(ctx context.Context) error {
	var offer slackfake.Message
	if err := w.waitFor(ctx, "the resolution notice proposed", func() bool {
		var ok bool
		offer, ok = w.message(w.channel, "post the resolution notice on the status page?")
		return ok
	}); err != nil {
		return err
	}
	values := buttonValues(offer, "statuspage_publish")
	if len(values) == 0 {
		return fmt.Errorf("no Post button on the resolution notice")
	}
	if err := w.click(ctx, "U0BOB", w.channel, "statuspage_publish", values[0]); err != nil {
		return err
	}
	return w.waitFor(ctx, "the status page incident resolved and its components operational", func() bool {
		incs := w.sp.Incidents()
		if len(incs) == 1 && incs[0].Status == "resolved" && w.sp.Component("cmpcheckoutapi") == "operational" {
			fmt.Fprintf(w.out, "Statuspage: %s resolved, components operational\n", incs[0].Shortlink)
			return true
		}
		return false
	})
}

func (w *demoScript) close(ctx context.Context) error {
	if _, err := w.command(ctx, "U0BOB", w.channel, "close"); err != nil {
		return err
	}
	return w.waitFor(ctx, "the close line and the postmortem draft", func() bool {
		_, closed := w.message(w.channel, "closed the incident")
		_, draft := w.message(w.channel, "postmortem_export")
		return closed && draft
	})
}

// exportPostmortem clicks the draft's GitHub export and saves the Markdown
// of the pull request it opens.
func (w *demoScript) exportPostmortem(ctx context.Context) error {
	draft, _ := w.message(w.channel, "postmortem_export")
	value := lastButtonValue(draft, "postmortem_export", func(v string) bool { return strings.HasSuffix(v, ":github") })
	if value == "" {
		return fmt.Errorf("no GitHub export button on the draft")
	}
	if err := w.click(ctx, "U0BOB", w.channel, "postmortem_export", value); err != nil {
		return err
	}
	if err := w.waitFor(ctx, "the pull request and its link in the channel", func() bool {
		_, linked := w.message(w.channel, "github.com")
		_, linked2 := w.message(w.channel, "/pull/")
		return len(w.gh.PullRequests(demoRepo)) == 1 && (linked || linked2)
	}); err != nil {
		return err
	}
	pr := w.gh.PullRequests(demoRepo)[0]
	for name, content := range w.gh.Files(demoRepo, pr.Head) {
		if strings.HasPrefix(name, "postmortems/") {
			path, err := w.writePostmortem(name, content)
			if err != nil {
				return err
			}
			fmt.Fprintf(w.out, "\nThe postmortem draft is in pull request #%d (%q) and written to:\n  %s\n", pr.Number, pr.Title, path)
			return nil
		}
	}
	return fmt.Errorf("the pull request has no postmortems/ file")
}

// waitForMessage waits until the incident channel has a message containing text.
func (w *demoScript) waitForMessage(ctx context.Context, what, text string) error {
	return w.waitFor(ctx, what, func() bool {
		_, ok := w.message(w.channel, text)
		return ok
	})
}

// lastButtonValue is the last value of a button with the action id that
// keep accepts, or "".
func lastButtonValue(m slackfake.Message, actionID string, keep func(string) bool) string {
	value := ""
	for _, v := range buttonValues(m, actionID) {
		if keep(v) {
			value = v
		}
	}
	return value
}

// buttonValues returns the values of every button with the action id.
func buttonValues(m slackfake.Message, actionID string) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if t["type"] == "button" && t["action_id"] == actionID {
				if s, ok := t["value"].(string); ok {
					out = append(out, s)
				}
			}
			for _, x := range t {
				walk(x)
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		}
	}
	var blocks any
	if json.Unmarshal(m.Blocks, &blocks) == nil {
		walk(blocks)
	}
	return out
}

// modalText is a view's text, flattened for printing.
func modalText(v slackfake.View) string {
	var parts []string
	var walk func(any)
	walk = func(x any) {
		switch t := x.(type) {
		case map[string]any:
			if s, ok := t["text"].(string); ok && (t["type"] == "mrkdwn" || t["type"] == "plain_text") {
				parts = append(parts, s)
			}
			for k, y := range t {
				if k != "title" && k != "submit" && k != "close" {
					walk(y)
				}
			}
		case []any:
			for _, y := range t {
				walk(y)
			}
		}
	}
	var view map[string]any
	if json.Unmarshal(v.JSON, &view) == nil {
		walk(view["blocks"])
	}
	return strings.Join(parts, " | ")
}

// writePostmortem saves the exported Markdown where the reader can open it.
func (w *demoWorld) writePostmortem(name, content string) (string, error) {
	path := filepath.Join(w.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, []byte(content), 0o644)
}
