package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
	"github.com/firebreakhq/firebreak/incident/postmortem"
	"github.com/firebreakhq/firebreak/templates"
)

// checkCommand runs "firebreak check": every check serve runs before it
// starts, reported all at once, with nothing started and nothing called.
func checkCommand(args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	policyPath := fs.String("policy", "", "policy file to check instead of POLICY_FILE")
	templatesDir := fs.String("templates", "", "template directory to check instead of TEMPLATES_DIR")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("check: %w\n%s", err, commandHelp["check"])
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("check: unexpected arguments %q\n%s", fs.Args(), commandHelp["check"])
	}
	env := getenv
	if *policyPath != "" || *templatesDir != "" {
		env = func(k string) string {
			switch {
			case k == "POLICY_FILE" && *policyPath != "":
				return *policyPath
			case k == "TEMPLATES_DIR" && *templatesDir != "":
				return *templatesDir
			}
			return getenv(k)
		}
	}

	failed := 0
	report := func(what string, err error) {
		if err == nil {
			fmt.Fprintf(stdout, "ok    %s\n", what)
			return
		}
		failed++
		fmt.Fprintf(stdout, "FAIL  %s\n", what)
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stdout, "      %s\n", strings.TrimPrefix(line, "  "))
		}
	}
	_, err := LoadConfig(env)
	var cerr *ConfigError
	if errors.As(err, &cerr) && cerr.Hint != "" {
		err = errors.New(cerr.Hint)
	}
	report("environment", err)
	policyFile := strings.TrimSpace(env("POLICY_FILE"))
	policy, err := LoadPolicy(policyFile)
	what := "policy (defaults; POLICY_FILE is not set)"
	if policyFile != "" {
		what = "policy " + policyFile
	}
	report(what, err)
	if err == nil {
		for _, w := range policy.Warnings() {
			fmt.Fprintf(stdout, "warn  %s\n", w)
		}
	}
	dir := strings.TrimSpace(env("TEMPLATES_DIR"))
	what = "templates (embedded)"
	if dir != "" {
		what = "templates (embedded, overridden from " + dir + ")"
	}
	tmpl, err := templates.Load(dir)
	if err == nil {
		err = trialRender(tmpl, policy)
	}
	report(what, err)
	if failed > 0 {
		return fmt.Errorf("check: %d of 3 checks failed", failed)
	}
	return nil
}

// preflight loads and checks the policy and templates serve starts with;
// firebreak check runs the same steps.
func preflight(cfg Config) (incident.Policy, *templates.Set, error) {
	policy, err := LoadPolicy(cfg.PolicyFile)
	if err != nil {
		return policy, nil, err
	}
	tmpl, err := templates.Load(cfg.TemplatesDir)
	if err != nil {
		return policy, nil, err
	}
	if err := trialRender(tmpl, policy); err != nil {
		return policy, nil, err
	}
	return policy, tmpl, nil
}

// trialRender renders every template against a sample incident, so a
// template that names a field that does not exist ({{ .NoSuchField }}) fails
// at start rather than at the close of a real incident.
func trialRender(set *templates.Set, policy incident.Policy) error {
	var errs []string
	for _, name := range set.Names() {
		data, ok := sampleData(name, policy)
		if !ok {
			continue
		}
		if _, err := set.Render(name, data); err != nil {
			errs = append(errs, strings.TrimPrefix(err.Error(), "templates: "))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("templates fail a trial render against a sample incident:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}

// sampleData is the data a template is rendered with, by the template's
// name: the comms drafts get comms.Data, the postmortem a Draft.
func sampleData(name string, policy incident.Policy) (any, bool) {
	start := time.Date(2026, 8, 7, 14, 2, 0, 0, time.UTC)
	switch {
	case strings.HasPrefix(name, "comms_"):
		return comms.Data{
			Key: "INC-42", Title: "Checkout is down", Severity: "P1", Affected: "Checkout",
			Impact: "Some customers cannot pay.", LatestUpdate: "A recent change is being rolled back.",
			Summary: "A change made the payment page time out; it was undone.", StartedAt: start,
			ResolvedAt: start.Add(49 * time.Minute), Duration: 49 * time.Minute, NextUpdateMinutes: 30,
			Now: start.Add(31 * time.Minute), Signature: "The Acme team",
		}, true
	case strings.HasPrefix(name, "postmortem."):
		return samplePostmortem(start, policy), true
	}
	return nil, false
}

func samplePostmortem(start time.Time, policy incident.Policy) postmortem.Draft {
	due := start.AddDate(0, 0, 14)
	sev := policy.Severity(incident.P1)
	item := incident.ActionItem{ID: 1, IncidentID: 7, Text: "Alert on payment timeouts", Owner: "U0ALICE", DueOn: &due, CreatedBy: "U0BOB", CreatedAt: start}
	return postmortem.Draft{
		Key: "INC-42", Title: "Checkout is down", Severity: incident.P1, SeverityLabel: sev.Label, Status: "Resolved",
		Service: "Checkout", Date: start, Day: start.Format("2006-01-02"), Slug: "checkout-is-down",
		GeneratedAt: start.Add(2 * time.Hour), Summary: "Card payments failed for 49 minutes after a release.",
		Started: start, Duration: 49 * time.Minute,
		Timeline: []postmortem.Milestone{
			{Name: "Declared", At: start, Recorded: true, Detail: "/incident declare"},
			{Name: "Mitigated", At: start.Add(40 * time.Minute), Recorded: true, Offset: 40 * time.Minute, Detail: "rollback finished"},
			{Name: "Resolved", Recorded: false},
		},
		KeyEvents: []postmortem.Event{{At: start.Add(5 * time.Minute), Kind: incident.EventPaged, Actor: "firebreak", Text: "Paged the on-call"}},
		Metrics: postmortem.Metrics{TimeToAcknowledge: 3 * time.Minute, TimeToMitigate: 40 * time.Minute, TimeToResolve: 49 * time.Minute,
			AckTarget: sev.RespondWithin, AckTargetText: sev.TargetText, AckWithinTarget: true, UpdatesPosted: 3, UpdatesExpected: 4, UpdateEvery: sev.UpdateEvery},
		RootCause:           postmortem.Analysis{Prompt: "What made the payment page time out?", Facts: []string{"deploy of acme/checkout at 13:58"}},
		ContributingFactors: postmortem.Analysis{Prompt: "What made it worse or slower to fix?", Facts: []string{"no alert on timeouts"}},
		WhatWentWell:        []string{"The rollback took two minutes."},
		ActionItems: []postmortem.Action{
			{Text: item.Text, Owner: "Alice", Due: due, Item: item},
			{Text: "Document the rollback", OwnerNeeded: true, DueNeeded: true, Item: incident.ActionItem{ID: 2, IncidentID: 7, Text: "Document the rollback"}},
		},
		Participants: []postmortem.Participant{{ID: "U0ALICE", Name: "Alice", Roles: []string{"Incident Commander"}, Messages: 12}},
		MostActive:   []postmortem.Participant{{ID: "U0ALICE", Name: "Alice", Messages: 12}},
		MessageCount: 12,
		ReviewNotes:  []postmortem.Finding{{Section: "Root cause", Phrase: "Bob broke", Suggestion: "describe what happened, not who did it"}},
	}
}
