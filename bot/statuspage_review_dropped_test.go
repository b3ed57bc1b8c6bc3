package bot_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
)

// TestDroppedStatusPagePostSaysWhy: a post asked for earlier and not made
// when its turn came says which post it was and why, in words.
func TestDroppedStatusPagePostSaysWhy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		post, why, status string
		maybe             bool
		want              string
	}{
		{incident.PostAcknowledge, "declined", "investigating", true,
			":no_entry_sign: *Nothing was posted on the status page for INC-42* (Statuspage): the first post was dropped because INC-42 was marked not customer-facing after it was asked for." +
				" An earlier attempt may have reached Statuspage before it failed: if INC-42 is open there, resolve it there."},
		{incident.PostAcknowledge, "not_open", "closed", false,
			":no_entry_sign: *Nothing was posted on the status page for INC-42* (Statuspage): the first post was dropped because INC-42 is closed, and no public incident is opened for an incident that is over."},
		{incident.PostUpdate, "not_open", "resolved", false,
			":no_entry_sign: *Nothing was posted on the status page for INC-42* (Statuspage): the update was dropped because INC-42 is resolved; only the resolution notice can still be posted."},
		{incident.PostStillInvestigating, "resolution_posted", "investigating", false,
			":no_entry_sign: *Nothing was posted on the status page for INC-42* (Statuspage): the update was dropped because the resolution notice went out after it was asked for, and an update would reopen the public incident."},
		{incident.PostResolution, "reopened", "investigating", false,
			":no_entry_sign: *Nothing was posted on the status page for INC-42* (Statuspage): the resolution notice was dropped because INC-42 was reopened; post the resolution notice once it is resolved again."},
	} {
		n := incident.Notice{Kind: comms.NoticeStatusPageDropped, Incident: "INC-42", Actor: "bot",
			Values: map[string]string{"post": tc.post, "why": tc.why, "status": tc.status, "provider": "Statuspage"}}
		if tc.maybe {
			n.Values["maybe_opened"] = "true"
		}
		require.Equal(t, tc.want, bot.NoticeText(n), "%s %s", tc.post, tc.why)
	}
}
