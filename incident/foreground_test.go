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
