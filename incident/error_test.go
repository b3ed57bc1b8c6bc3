package incident_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// An error that names people carries them by id; the message names them by
// id and a chat by its own mention.
func TestErrorNamesPeopleByID(t *testing.T) {
	t.Parallel()
	mention := func(id string) string { return "@" + id }

	err := incident.Errorf(incident.ECONFLICT, "This rollback was already requested by %s %s ago; it %s.", incident.User("U0BOB"), "2s", "is running")
	require.Equal(t, []string{"U0BOB"}, err.Users)
	require.Equal(t, "This rollback was already requested by U0BOB 2s ago; it is running.", incident.ErrorMessage(fmt.Errorf("request: %w", err)))
	require.Equal(t, "This rollback was already requested by @U0BOB 2s ago; it is running.", err.Text(mention))

	bot := incident.Errorf(incident.ECONFLICT, "%s dismissed this alert as not an incident.", incident.User("bot"))
	require.Equal(t, []string{"bot"}, bot.Users)
	require.Equal(t, "firebreak dismissed this alert as not an incident.", bot.Message)
	require.Equal(t, "firebreak dismissed this alert as not an incident.", bot.Text(func(id string) string {
		if id == "bot" {
			return "firebreak"
		}
		return "@" + id
	}))

	plain := incident.Errorf(incident.EINVALID, "No such %s.", "page")
	require.Empty(t, plain.Users)
	require.Equal(t, "No such page.", plain.Text(mention))
}
