package incident_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

func TestForegroundMarksTheContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	require.False(t, incident.IsForeground(ctx))
	fg := incident.Foreground(ctx)
	require.True(t, incident.IsForeground(fg))
	child, cancel := context.WithCancel(fg)
	defer cancel()
	require.True(t, incident.IsForeground(child), "derived contexts keep the mark")
}

func TestBackgroundMarksTheContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	require.False(t, incident.IsBackground(ctx), "unmarked work is written durably")
	require.True(t, incident.IsBackground(incident.Background(ctx)))
	job := incident.WithJobRun(ctx, 42, 1, 3)
	require.True(t, incident.IsBackground(job), "a job's writes are redone when lost")
	require.False(t, incident.IsBackground(incident.WithJobAttempt(ctx, 1, 3)), "an attempt without a job id is not a job run")
	require.False(t, incident.IsBackground(incident.Foreground(job)), "someone waits on foreground work")
	require.False(t, incident.IsBackground(incident.Foreground(incident.Background(ctx))))
}
