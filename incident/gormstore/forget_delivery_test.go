package gormstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
)

// TestForgetDelivery: a delivery's record removed, the same delivery is
// taken again, once; forgetting one never recorded is no error.
func TestForgetDelivery(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := gormstore.New(openDB(t, dialect), testClock())
			d := incident.Delivery{Source: "grafana-signature", ID: "abc"}
			for _, want := range []bool{true, false} {
				first, err := s.RecordDelivery(ctx, d)
				require.NoError(t, err)
				require.Equal(t, want, first)
			}
			require.NoError(t, s.ForgetDelivery(ctx, d.Source, d.ID))
			require.NoError(t, s.ForgetDelivery(ctx, d.Source, "never"))
			other := incident.Delivery{Source: "pagerduty", ID: "abc"}
			first, err := s.RecordDelivery(ctx, other)
			require.NoError(t, err)
			require.True(t, first, "another source's delivery of the same id is its own")
			for _, want := range []bool{true, false} {
				first, err := s.RecordDelivery(ctx, d)
				require.NoError(t, err)
				require.Equal(t, want, first, "taken again, once")
			}
			require.NoError(t, s.ForgetDelivery(ctx, d.Source, d.ID))
			first, err = s.RecordDelivery(ctx, other)
			require.NoError(t, err)
			require.False(t, first, "only that source's record is removed")
			require.Equal(t, incident.EINVALID, incident.ErrorCode(s.ForgetDelivery(ctx, "", "x")))
		})
	}
}
