package changes

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

func TestChangeValueRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 8, 7, 14, 0, 0, 0, time.UTC)
	for _, id := range []string{"deployment:acme/checkout:42", "a|b|c", "workflow_run:acme/x:1:completed"} {
		c := incident.ChangeEvent{Source: "github", ExternalID: id, OccurredAt: at.Add(300 * time.Millisecond)}
		source, when, externalID, err := parseChangeValue(ChangeValue(c))
		require.NoError(t, err)
		require.Equal(t, "github", source)
		require.Equal(t, id, externalID, "ids may contain the separator")
		require.Equal(t, at, when)
	}
	for _, bad := range []string{"", "github", "github|x|id", "github|12|", "|12|id"} {
		_, _, _, err := parseChangeValue(bad)
		require.Equal(t, incident.EINVALID, incident.ErrorCode(err), bad)
	}
}

func TestChangeWindowBounds(t *testing.T) {
	t.Parallel()
	s := New(Config{})
	for _, tc := range []struct {
		in   time.Duration
		want time.Duration // zero: refused
	}{
		{0, 60 * time.Minute},
		{time.Minute, time.Minute},
		{48 * time.Hour, 48 * time.Hour},
		{30 * time.Second, 0},
		{49 * time.Hour, 0},
		{-time.Hour, 0},
	} {
		got, err := s.changeWindow(tc.in)
		if tc.want == 0 {
			require.Equal(t, incident.EINVALID, incident.ErrorCode(err), tc.in)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
}

func TestRunStatusOfChange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind incident.ChangeKind
		data map[string]string
		want string // empty: says nothing about a rollback
	}{
		{incident.ChangeDeploy, map[string]string{"state": "success"}, "succeeded"},
		{incident.ChangeDeploy, map[string]string{"state": "failure"}, "failed"},
		{incident.ChangeDeploy, map[string]string{"state": "error"}, "failed"},
		{incident.ChangeDeploy, map[string]string{"state": "in_progress"}, "in_progress"},
		{incident.ChangeDeploy, map[string]string{"state": "pending"}, "queued"},
		{incident.ChangeDeploy, map[string]string{"state": "inactive"}, ""},
		{incident.ChangeWorkflow, map[string]string{"status": "completed", "conclusion": "success"}, "succeeded"},
		{incident.ChangeWorkflow, map[string]string{"status": "completed", "conclusion": "cancelled"}, "failed"},
		{incident.ChangeWorkflow, map[string]string{"status": "in_progress"}, "in_progress"},
		{incident.ChangeWorkflow, map[string]string{"status": "requested"}, "queued"},
		{incident.ChangeFlag, map[string]string{"state": "success"}, ""},
	} {
		got, ok := runStatusOfChange(incident.ChangeEvent{Kind: tc.kind, Data: tc.data})
		require.Equal(t, tc.want != "", ok, "%s %v", tc.kind, tc.data)
		require.Equal(t, tc.want, got, "%s %v", tc.kind, tc.data)
	}
}

func TestRunOfChange(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 8, 7, 14, 30, 0, 0, time.UTC)
	deployPlan := incident.RollbackPlan{Source: "github", Kind: incident.ChangeDeploy, Repo: "acme/checkout", Environment: "production",
		FromRef: "bad", ToRef: "good", Method: "deployment"}
	workflowPlan := deployPlan
	workflowPlan.Method, workflowPlan.Workflow = "workflow", "deploy.yml"
	workflowPlan.Key = "github:acme/checkout:production:bad->good"
	deploy := func(id, ref, env string, at time.Time) incident.ChangeEvent {
		return incident.ChangeEvent{Kind: incident.ChangeDeploy, Ref: ref, Environment: env, OccurredAt: at, Data: map[string]string{"deployment_id": id}}
	}
	run := func(id, ref, workflow, event string, at time.Time) incident.ChangeEvent {
		return incident.ChangeEvent{Kind: incident.ChangeWorkflow, Ref: ref, OccurredAt: at,
			Data: map[string]string{"run_id": id, "workflow": workflow, "event": event}}
	}
	titled := func(id, title string) incident.ChangeEvent {
		c := run(id, "head", "deploy.yml", "workflow_dispatch", start)
		c.Data["display_title"] = title
		return c
	}
	for name, tc := range map[string]struct {
		r     incident.Rollback
		c     incident.ChangeEvent
		match bool
		extID string
	}{
		"deployment by id":                  {incident.Rollback{Plan: deployPlan, ExternalID: "7"}, deploy("7", "good", "production", start), true, ""},
		"another deployment":                {incident.Rollback{Plan: deployPlan, ExternalID: "7"}, deploy("8", "good", "production", start), false, ""},
		"deployment before its id is known": {incident.Rollback{Plan: deployPlan}, deploy("9", "good", "production", start), true, "9"},
		"old deployment of the target":      {incident.Rollback{Plan: deployPlan}, deploy("3", "good", "production", start.Add(-time.Hour)), false, ""},
		"other environment":                 {incident.Rollback{Plan: deployPlan}, deploy("9", "good", "staging", start), false, ""},
		"workflow run by id":                {incident.Rollback{Plan: workflowPlan, ExternalID: "55"}, run("55", "head", "deploy.yml", "workflow_dispatch", start), true, ""},
		"another workflow run":              {incident.Rollback{Plan: workflowPlan, ExternalID: "55"}, run("56", "head", "deploy.yml", "workflow_dispatch", start), false, ""},
		"dispatched run not naming the key": {incident.Rollback{Plan: workflowPlan}, run("57", "head", "deploy.yml", "workflow_dispatch", start), false, ""},
		"run naming the key":                {incident.Rollback{Plan: workflowPlan}, titled("61", "firebreak rollback "+workflowPlan.Key+" requested by U1"), true, "61"},
		"run naming a retry's key":          {incident.Rollback{Plan: workflowPlan}, titled("62", "firebreak rollback "+workflowPlan.Key+"#retry1 requested by U1"), false, ""},
		"run at the target commit":          {incident.Rollback{Plan: workflowPlan}, run("58", "good", "ci.yml", "push", start), false, ""},
		"unrelated push run":                {incident.Rollback{Plan: workflowPlan}, run("59", "head", "ci.yml", "push", start), false, ""},
		"run for a deployment rollback":     {incident.Rollback{Plan: deployPlan}, run("60", "good", "deploy.yml", "workflow_dispatch", start), false, ""},
		"deployment made by the workflow":   {incident.Rollback{Plan: workflowPlan, ExternalID: "55"}, deploy("10", "good", "production", start), true, ""},
	} {
		got, ok := runOfChange(&tc.r, start, tc.c, "in_progress")
		require.Equal(t, tc.match, ok, name)
		if ok {
			require.Equal(t, tc.extID, got.ExternalID, name)
			require.Equal(t, "in_progress", got.Status, name)
		}
	}
}
