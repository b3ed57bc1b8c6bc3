package incident_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestNagWithNobodyAboveTheICKeepsMessagingTheIC: with the default policy
// (no commander group) and no comms lead, nobody backs the IC up, so every
// rung from the second messages the IC directly, and the channel is told
// once that nobody else is called and how to change that.
func TestNagWithNobodyAboveTheICKeepsMessagingTheIC(t *testing.T) {
	t.Parallel()
	b := setup(t)
	readyAt(t, b, incident.P1)
	replies := len(b.chat.Replies)
	advance(t, b, 3*time.Hour)
	require.Len(t, b.chat.Nags, 6)
	require.Equal(t, len(b.chat.Nags)-1, dmsTo(b, "U0DECL", replies), "a DM at every rung from the second: %q", b.chat.Replies[replies:])
	all := strings.Join(b.chat.Nags, "\n")
	require.Equal(t, 1, strings.Count(all, "commander_group"), "said once: %s", all)
	require.Contains(t, b.chat.Nags[2], "No commander group is configured, so nobody else is called")
	for _, n := range b.chat.Nags[2:] {
		require.Contains(t, n, "The IC has been messaged directly again.")
	}
}

// TestNagWithABackupDoesNotMessageTheICAgain: with a commander group the
// top of the ladder calls the group, and the IC is messaged once, at the
// second rung.
func TestNagWithABackupDoesNotMessageTheICAgain(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) { p.CommanderGroup = "S0ICS" })
	readyAt(t, b, incident.P1)
	replies := len(b.chat.Replies)
	advance(t, b, 3*time.Hour)
	require.Equal(t, 1, dmsTo(b, "U0DECL", replies))
	require.NotContains(t, strings.Join(b.chat.Nags, "\n"), "commander_group")
}

// TestNagSaysNobodyElseIsCalledOncePerIncident: with nobody to back the
// IC up, the ladder climbs to its third rung, which says that nobody else
// is called; an update starts the reminders over, and when they climb to
// the third rung again it is not said a second time.
func TestNagSaysNobodyElseIsCalledOncePerIncident(t *testing.T) {
	t.Parallel()
	b := slackSetup(t)
	inc := b.declare(t)
	run := func(d time.Duration) {
		for end := b.clock.Now().Add(d); b.clock.Now().Before(end); {
			b.clock.Advance(30 * time.Second)
			b.queue.RunDue(t, b.clock.Now())
		}
	}
	run(30*time.Minute + time.Minute)
	nags := b.texts(inc.ChannelID, "needs a status update")
	require.Len(t, nags, 3)
	require.Contains(t, nags[2], "No commander group is configured, so nobody else is called")

	_, err := b.svc.PostUpdate(t.Context(), inc.ID, incident.UpdateInput{Author: b.decl.ID, Known: "still looking"})
	require.NoError(t, err)
	run(30*time.Minute + time.Minute)
	nags = b.texts(inc.ChannelID, "needs a status update")
	require.Len(t, nags, 6)
	require.Contains(t, nags[5], "The IC has been messaged directly again.", "the third rung again")
	all := strings.Join(nags, "\n")
	require.Equal(t, 1, strings.Count(all, "commander_group"), "said once for the incident: %s", all)
}
