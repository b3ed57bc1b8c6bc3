package launchdarkly_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/launchdarkly/ldfake"
)

// A turn-off whose answer the bot lost is followed, not sent again: when
// the flag is still on, the turn-off did not happen, and the run fails at
// once, so the channel hears it and can retry, rather than after the bot
// gives up looking for a run that will never come.
func TestProgressOfAnUnansweredTurnOffFailsWhileTheFlagIsOn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.AddFlag(ldfake.Flag{Project: "shop", Key: "new-cart", Name: "New cart", On: map[string]bool{"production": true}, Version: 4})
	ctx := context.Background()
	plan, err := b.client.Plan(ctx, flagChange(), checkout())
	require.NoError(t, err)

	run, err := b.client.Progress(ctx, incident.RollbackRun{Plan: plan, Status: "queued"})
	require.NoError(t, err)
	require.Equal(t, "failed", run.Status)
	require.Equal(t, "Flag new-cart is still on in production.", run.Detail)
	on, _ := b.fake.FlagOn("shop", "new-cart", "production")
	require.True(t, on, "following a run changes nothing")
}
