package incident_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestNagTheChannelRefusesReachesTheIC: the incident's channel was
// archived while the incident is open, so Slack refuses every reminder
// posted there. The ladder still climbs: each reminder goes to the IC
// directly, saying why it is not in the channel, at the usual gaps (the
// second, which messages the IC anyway, in a message of its own after the
// channel refused it), and none is posted twice once the channel takes
// posts again.
func TestNagTheChannelRefusesReachesTheIC(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inc := readyAt(t, b, incident.P1)
	replies := len(b.chat.Replies)
	b.chat.Mu.Lock()
	b.chat.Refuse["nag"] = incident.Errorf(incident.ECONFLICT, "Slack refused to post the reminder: the channel is archived.")
	b.chat.Mu.Unlock()

	advance(t, b, 10*time.Minute+30*time.Second)
	require.Empty(t, b.chat.Nags)
	told := b.chat.Replies[replies:]
	require.Len(t, told, 1, "%q", told)
	require.True(t, strings.HasPrefix(told[0], "U0DECL: "), "the IC: %q", told[0])
	require.Contains(t, told[0], "needs a status update")
	require.Contains(t, told[0], "the channel is archived")

	advance(t, b, 10*time.Minute)
	// The second rung messages the IC as it always does, and then once
	// more to say the channel would not take it.
	told = b.chat.Replies[replies:]
	require.Len(t, told, 3, "the next rung, at its gap, not a retry storm: %q", told)
	require.NotContains(t, told[1], "the channel is archived")
	require.Contains(t, told[2], "the channel is archived")
	got, err := b.store.GetIncident(t.Context(), inc.ID)
	require.NoError(t, err)
	require.Equal(t, 2, got.NagCount, "the ladder climbed")

	b.chat.Mu.Lock()
	delete(b.chat.Refuse, "nag")
	b.chat.Mu.Unlock()
	advance(t, b, 10*time.Minute)
	require.Len(t, b.chat.Nags, 1, "the next reminder is in the channel again")
}
