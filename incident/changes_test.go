package incident

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// RegisterChangeJobs and PlanChanges let the external tests reach the
// unexported wiring whether or not RegisterJobs and Declare call it yet;
// registering or planning twice is harmless (a map entry, a job key).
func RegisterChangeJobs(s *Service, r interface {
	Handle(kind string, h JobHandler)
}) {
	s.registerChangeJobs(r)
}

// PlanChanges schedules the list of changes posted at declare.
func PlanChanges(ctx context.Context, s *Service, inc *Incident) error {
	return s.planChanges(ctx, s.sched, inc)
}

func TestChangeValueRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 8, 7, 14, 0, 0, 0, time.UTC)
	for _, id := range []string{"deployment:acme/checkout:42", "a|b|c", "workflow_run:acme/x:1:completed"} {
		c := ChangeEvent{Source: "github", ExternalID: id, OccurredAt: at.Add(300 * time.Millisecond)}
		source, when, externalID, err := parseChangeValue(ChangeValue(c))
		require.NoError(t, err)
		require.Equal(t, "github", source)
		require.Equal(t, id, externalID, "ids may contain the separator")
		require.Equal(t, at, when)
	}
	for _, bad := range []string{"", "github", "github|x|id", "github|12|", "|12|id"} {
		_, _, _, err := parseChangeValue(bad)
		require.Equal(t, EINVALID, ErrorCode(err), bad)
	}
}

func TestChangeWindowBounds(t *testing.T) {
	t.Parallel()
	s := NewService(ServiceConfig{})
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
			require.Equal(t, EINVALID, ErrorCode(err), tc.in)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
}

func TestRunStatusOfChange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind ChangeKind
		data map[string]string
		want string // empty: says nothing about a rollback
	}{
		{ChangeDeploy, map[string]string{"state": "success"}, "succeeded"},
		{ChangeDeploy, map[string]string{"state": "failure"}, "failed"},
		{ChangeDeploy, map[string]string{"state": "error"}, "failed"},
		{ChangeDeploy, map[string]string{"state": "in_progress"}, "in_progress"},
		{ChangeDeploy, map[string]string{"state": "pending"}, "queued"},
		{ChangeDeploy, map[string]string{"state": "inactive"}, ""},
		{ChangeWorkflow, map[string]string{"status": "completed", "conclusion": "success"}, "succeeded"},
		{ChangeWorkflow, map[string]string{"status": "completed", "conclusion": "cancelled"}, "failed"},
		{ChangeWorkflow, map[string]string{"status": "in_progress"}, "in_progress"},
		{ChangeWorkflow, map[string]string{"status": "requested"}, "queued"},
		{ChangeFlag, map[string]string{"state": "success"}, ""},
	} {
		got, ok := runStatusOfChange(ChangeEvent{Kind: tc.kind, Data: tc.data})
		require.Equal(t, tc.want != "", ok, "%s %v", tc.kind, tc.data)
		require.Equal(t, tc.want, got, "%s %v", tc.kind, tc.data)
	}
}

func TestRunOfChange(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 8, 7, 14, 30, 0, 0, time.UTC)
	deployPlan := RollbackPlan{Source: "github", Kind: ChangeDeploy, Repo: "acme/checkout", Environment: "production",
		FromRef: "bad", ToRef: "good", Method: "deployment"}
	workflowPlan := deployPlan
	workflowPlan.Method, workflowPlan.Workflow = "workflow", "deploy.yml"
	deploy := func(id, ref, env string, at time.Time) ChangeEvent {
		return ChangeEvent{Kind: ChangeDeploy, Ref: ref, Environment: env, OccurredAt: at, Data: map[string]string{"deployment_id": id}}
	}
	run := func(id, ref, workflow, event string, at time.Time) ChangeEvent {
		return ChangeEvent{Kind: ChangeWorkflow, Ref: ref, OccurredAt: at,
			Data: map[string]string{"run_id": id, "workflow": workflow, "event": event}}
	}
	for name, tc := range map[string]struct {
		r     Rollback
		c     ChangeEvent
		match bool
		extID string
	}{
		"deployment by id":                  {Rollback{Plan: deployPlan, ExternalID: "7"}, deploy("7", "good", "production", start), true, ""},
		"another deployment":                {Rollback{Plan: deployPlan, ExternalID: "7"}, deploy("8", "good", "production", start), false, ""},
		"deployment before its id is known": {Rollback{Plan: deployPlan}, deploy("9", "good", "production", start), true, "9"},
		"old deployment of the target":      {Rollback{Plan: deployPlan}, deploy("3", "good", "production", start.Add(-time.Hour)), false, ""},
		"other environment":                 {Rollback{Plan: deployPlan}, deploy("9", "good", "staging", start), false, ""},
		"workflow run by id":                {Rollback{Plan: workflowPlan, ExternalID: "55"}, run("55", "head", "deploy.yml", "workflow_dispatch", start), true, ""},
		"another workflow run":              {Rollback{Plan: workflowPlan, ExternalID: "55"}, run("56", "head", "deploy.yml", "workflow_dispatch", start), false, ""},
		"dispatched run not yet known":      {Rollback{Plan: workflowPlan}, run("57", "head", "deploy.yml", "workflow_dispatch", start), true, "57"},
		"run at the target commit":          {Rollback{Plan: workflowPlan}, run("58", "good", "ci.yml", "push", start), true, "58"},
		"unrelated push run":                {Rollback{Plan: workflowPlan}, run("59", "head", "ci.yml", "push", start), false, ""},
		"run for a deployment rollback":     {Rollback{Plan: deployPlan}, run("60", "good", "deploy.yml", "workflow_dispatch", start), false, ""},
		"deployment made by the workflow":   {Rollback{Plan: workflowPlan, ExternalID: "55"}, deploy("10", "good", "production", start), true, ""},
	} {
		got, ok := runOfChange(&tc.r, start, tc.c, "in_progress")
		require.Equal(t, tc.match, ok, name)
		if ok {
			require.Equal(t, tc.extID, got.ExternalID, name)
			require.Equal(t, "in_progress", got.Status, name)
		}
	}
}
