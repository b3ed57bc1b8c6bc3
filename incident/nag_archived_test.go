package incident_test

import (
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"
)

// TestSecondNagInAnArchivedChannelTellsTheIC: the incident's channel was
// archived after the first reminder. The second reminder messages the IC
// directly, as it always does, and then the channel refuses it: the IC is
// told so in a second message, with Slack's reason, rather than only being
// pointed at a channel that will not take posts.
func TestSecondNagInAnArchivedChannelTellsTheIC(t *testing.T) {
	t.Parallel()
	b := slackSetup(t)
	inc := b.declare(t)
	b.clock.Advance(10*time.Minute + time.Second)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	require.Len(t, b.texts(inc.ChannelID, "needs a status update"), 1)
	api := slack.New(b.srv.BotToken(), slack.OptionAPIURL(b.srv.URL()))
	require.NoError(t, api.ArchiveConversation(inc.ChannelID))

	b.clock.Advance(10 * time.Minute)
	b.queue.RunDue(t, b.clock.Now())
	require.Len(t, b.texts(inc.ChannelID, "needs a status update"), 1, "the channel took nothing more")
	dms := b.dms(b.decl.ID, "needs a status update")
	require.Len(t, dms, 2, "%q", dms)
	require.NotContains(t, dms[0], "would not take it", "the second reminder's own message")
	require.Contains(t, dms[1], "This reminder is here because the channel would not take it.")
	require.Contains(t, strings.ToLower(dms[1]), "archived")
}
