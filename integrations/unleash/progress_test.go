package unleash_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/unleash/unleashfake"
)

// A turn-off whose answer the bot lost is followed, not sent again: when
// the flag is still on, the turn-off did not happen, and the run fails at
// once, so the channel hears it and can retry, rather than after the bot
// gives up looking for a run that will never come.
func TestProgressOfAnUnansweredTurnOffFailsWhileTheFlagIsOn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.AddFeature(unleashfake.Feature{Project: "pay", Name: "fast_refunds", Enabled: map[string]bool{"production": true}})
	ctx := context.Background()
	plan, err := b.client.Plan(ctx, flagChange(), payments())
	require.NoError(t, err)

	run, err := b.client.Progress(ctx, incident.RollbackRun{Plan: plan, Status: "queued"})
	require.NoError(t, err)
	require.Equal(t, "failed", run.Status)
	require.Equal(t, "Flag fast_refunds is still on in production.", run.Detail)
	on, _ := b.fake.Enabled("pay", "fast_refunds", "production")
	require.True(t, on, "following a run changes nothing")
}
