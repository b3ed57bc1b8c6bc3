package flagoff_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/flagoff"
)

func TestPlan(t *testing.T) {
	p := flagoff.Planner{Source: incident.ProviderUnleash, Name: "Unleash", Article: "an"}
	svc := incident.ServicePolicy{Flags: []incident.FlagRef{
		{Provider: incident.ProviderLaunchDarkly, Key: "new-checkout", Project: "web", Environment: "staging"},
		{Provider: incident.ProviderUnleash, Key: "new-checkout", Project: "shop", Environment: "production"},
	}}
	change := func(env string, data map[string]string) incident.ChangeEvent {
		return incident.ChangeEvent{Source: incident.ProviderUnleash, Kind: incident.ChangeFlag, Ref: "new-checkout", ExternalID: "ev-7", Environment: env, Data: data}
	}
	tests := []struct {
		name         string
		change       incident.ChangeEvent
		svc          incident.ServicePolicy
		project, env string
		wantErr      string
	}{
		{name: "from the change", change: change("canary", map[string]string{"project": "checkout"}), svc: svc, project: "checkout", env: "canary"},
		{name: "from the service's flag", change: change("", nil), svc: svc, project: "shop", env: "production"},
		{name: "default project", change: change("production", nil), project: flagoff.DefaultProject, env: "production"},
		{name: "no environment", change: change("", nil), wantErr: "does not say which Unleash environment"},
		{name: "another provider", change: incident.ChangeEvent{Source: incident.ProviderLaunchDarkly, Kind: incident.ChangeFlag, Ref: "x"}, wantErr: "not an Unleash flag change"},
		{name: "a deploy", change: incident.ChangeEvent{Source: incident.ProviderUnleash, Kind: incident.ChangeDeploy, Ref: "x"}, wantErr: "not an Unleash flag change"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := p.Plan(tt.change, tt.svc)
			if tt.wantErr != "" {
				require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
				require.Contains(t, incident.ErrorMessage(err), tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.project, plan.Project)
			require.Equal(t, tt.env, plan.Environment)
			require.Equal(t, "unleash:off:"+tt.project+"/"+tt.env+"/new-checkout:ev-7", plan.Key)
			require.Equal(t, "unleash:ev-7", plan.ChangeID)
			require.NoError(t, p.Check(plan))
			plan.Environment = ""
			require.Equal(t, incident.EINVALID, incident.ErrorCode(p.Check(plan)))
		})
	}
	require.True(t, flagoff.Settled(incident.RollbackRun{Status: flagoff.StatusFailed}))
	require.False(t, flagoff.Settled(incident.RollbackRun{Status: "running"}))
}
