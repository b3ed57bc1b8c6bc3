package incident_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

func TestDurationWords(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		30 * time.Second:              "30 seconds",
		time.Minute:                   "1 minute",
		15 * time.Minute:              "15 minutes",
		time.Hour:                     "1 hour",
		90 * time.Minute:              "1 hour 30 minutes",
		2 * time.Hour:                 "2 hours",
		26*time.Hour + 5*time.Minute:  "1 day 2 hours 5 minutes",
		48*time.Hour + 59*time.Second: "2 days",
	} {
		require.Equal(t, want, incident.DurationWords(d), d.String())
	}
}
