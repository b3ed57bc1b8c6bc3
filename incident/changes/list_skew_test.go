package changes_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// GitHub's clock runs a few seconds ahead of the bot's: the deploy that
// went out just before the declare is stamped seconds after it. It is
// still listed, as after the start, with its rollback button; a deploy a
// few minutes after the start is not.
func TestWhatChangedListsADeployStampedSecondsAfterTheStartByTheProvidersClock(t *testing.T) {
	t.Parallel()
	g := newGitHubFollow(t)
	start := g.start()
	skewed := "5555555555555555555555555555555555555555"
	later := "6666666666666666666666666666666666666666"
	g.fake.AddDeployment(followRepo, ghfake.Deployment{SHA: skewed, Environment: "production", Creator: "grace", CreatedAt: start.Add(4 * time.Second),
		Statuses: []ghfake.DeploymentStatus{{State: "success", CreatedAt: start.Add(4 * time.Second)}}})
	g.fake.AddDeployment(followRepo, ghfake.Deployment{SHA: later, Environment: "production", Creator: "grace", CreatedAt: start.Add(3 * time.Minute),
		Statuses: []ghfake.DeploymentStatus{{State: "success", CreatedAt: start.Add(3 * time.Minute)}}})
	inc := g.open(t, incident.P2)

	var refs []string
	var action string
	for _, it := range g.lastList(t, inc, 0).Items {
		if it.Change.Kind == incident.ChangeDeploy {
			refs = append(refs, it.Change.Ref[:7])
			if it.Change.Ref == skewed {
				action = it.Action
			}
		}
	}
	require.Equal(t, []string{"5555555", "3333333"}, refs)
	require.Equal(t, "Roll back", action)
}
