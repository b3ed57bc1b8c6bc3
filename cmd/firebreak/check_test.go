package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/templates"
)

// TestPolicyReportsEveryProblemWithItsLine: one run shows every mistake,
// in YAML terms, with suggestions for misspelt keys and the expected shape
// of Slack ids.
func TestPolicyReportsEveryProblemWithItsLine(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, writeFile(path, `timezone: UTC
chanels:
  broadcast: "#incidents"
commander_group: "@oncall-leads"
severities:
  P1:
    update_evry: 10m
    respond_within: soon
    invite: [u0alice, "<@U0BOB>", ops@example.com]
  P7: {label: x}
services:
  checkout:
    responders: [U0ALICE, "not an id"]
    pagerduty: {service: PABC}
rollback:
  group: S0RELEASE
  two_person: [P9]
`))
	_, err := LoadPolicy(path)
	var pe *PolicyError
	require.ErrorAs(t, err, &pe)
	msg := err.Error()
	for _, want := range []string{
		`line 2: unknown key "chanels"; did you mean "channels"?`,
		`line 4: commander_group: "@oncall-leads" is not a user-group id (S...); Slack ids do not start with @`,
		`line 7: severities.P1: unknown key "update_evry"; did you mean "update_every"?`,
		`line 8: severities.P1.respond_within: "soon" is not a duration such as 15m, or off`,
		`line 9: severities.P1.invite[0]: "u0alice" is not a user id (U...), a user-group id (S...) or an e-mail address; Slack ids are upper case`,
		`line 9: severities.P1.invite[1]: "<@U0BOB>" is not a user id (U...), a user-group id (S...) or an e-mail address; write the bare id, without <...>`,
		`line 10: severities.P7: "P7" is not a severity`,
		`line 13: services.checkout.responders[1]: "not an id" is not`,
		`line 14: services.checkout.pagerduty: unknown key "service"; did you mean "service_id"?`,
		`line 17: rollback.two_person: "P9" is not one of P1-P4`,
	} {
		require.Contains(t, msg, want)
	}
	require.Contains(t, msg, "POLICY_FILE "+path+": 10 problems", msg)
	require.NotContains(t, msg, "ops@example.com", "a valid e-mail is fine")

	require.NoError(t, writeFile(path, "severities:\n  P1:\n    paging: [oncall]\n"))
	_, err = LoadPolicy(path)
	require.ErrorContains(t, err, "line 3: expected a single value, not a list")

	require.NoError(t, writeFile(path, "severities: {P1: {label: x}\n"))
	_, err = LoadPolicy(path)
	require.ErrorContains(t, err, "line 1: did not find expected", "a syntax error names its line")
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	keys := []string{"channels", "severities", "services", "roles", "commander_group"}
	require.Equal(t, "severities", suggest("severites", keys))
	require.Equal(t, "services", suggest("Services", keys))
	require.Equal(t, "", suggest("frobnicate", keys))
}

// TestCheckCommand: check passes the shipped example policy and the
// embedded templates, and reports every failing part at once.
func TestCheckCommand(t *testing.T) {
	t.Parallel()
	env := envOf(map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"check", "-policy", "../../docs/policy.example.yaml"}, env, &out, &out), out.String())
	require.Contains(t, out.String(), "ok    environment")
	require.Contains(t, out.String(), "ok    policy ../../docs/policy.example.yaml")
	require.Contains(t, out.String(), "ok    templates (embedded)")
	require.NotContains(t, out.String(), "warn", "the example sets a commander group")

	// The defaults work, with a warning that says what is weak about them.
	out.Reset()
	require.NoError(t, run(context.Background(), []string{"check"}, env, &out, &out), out.String())
	require.Contains(t, out.String(), "ok    policy (defaults; POLICY_FILE is not set)")
	require.Contains(t, out.String(), "warn  commander_group: no commander group is set")

	dir := t.TempDir()
	require.NoError(t, writeFile(filepath.Join(dir, "comms_resolution.tmpl"), "Fixed: {{ .NoSuchField }}\n"))
	policy := filepath.Join(dir, "policy.yaml")
	require.NoError(t, writeFile(policy, "servics: {}\n"))
	out.Reset()
	err := run(context.Background(), []string{"check"}, envOf(map[string]string{
		"SLACK_BOT_TOKEN": "xoxb-1", "LOG_LEVEL": "loud", "POLICY_FILE": policy, "TEMPLATES_DIR": dir,
	}), &out, &out)
	require.ErrorContains(t, err, "3 of 3 checks failed")
	require.Contains(t, out.String(), "FAIL  environment")
	require.Contains(t, out.String(), "SLACK_SIGNING_SECRET: required in HTTP mode")
	require.Contains(t, out.String(), "LOG_LEVEL")
	require.Contains(t, out.String(), `line 1: unknown key "servics"; did you mean "services"?`)
	require.Contains(t, out.String(), "comms_resolution.tmpl:1")
	require.Contains(t, out.String(), "NoSuchField")

	// serve runs the same checks before starting anything.
	err = run(context.Background(), []string{"serve"}, envOf(map[string]string{
		"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "TEMPLATES_DIR": dir, "SQLITE_PATH": filepath.Join(dir, "never.db"),
	}), &out, &out)
	require.ErrorContains(t, err, "NoSuchField")
	_, statErr := os.Stat(filepath.Join(dir, "never.db"))
	require.True(t, os.IsNotExist(statErr), "nothing started")
}

// TestEveryTemplateHasSampleData keeps the trial render complete: a new
// template needs sample data here, or it would escape the check.
func TestEveryTemplateHasSampleData(t *testing.T) {
	t.Parallel()
	set, err := templates.Load("")
	require.NoError(t, err)
	policy, err := LoadPolicy("")
	require.NoError(t, err)
	for _, name := range set.Names() {
		data, ok := sampleData(name, policy)
		require.True(t, ok, "no sample data for %s in sampleData", name)
		out, err := set.Render(name, data)
		require.NoError(t, err, name)
		require.NotContains(t, out, "<no value>", name)
		require.NotEmpty(t, strings.TrimSpace(out), name)
	}
}
