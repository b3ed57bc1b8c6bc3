package bot

import (
	"context"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// TestUpdateFormSubmittedTwicePostsOnce: when the answer to a submitted
// update form reaches Slack late or not at all, Slack keeps the form open
// and the person presses Post again; the same view comes back. The update
// is stored, said in the channel and put on the timeline once, and the
// second submission closes the form.
func TestUpdateFormSubmittedTwicePostsOnce(t *testing.T) {
	tr := newTransport(t)
	ctx := context.Background()
	tr.click(t, tr.ic.ID, ActionPostUpdate)
	v := tr.openedView(t, ViewUpdate)
	values := map[string]map[string]slack.BlockAction{
		blockUpdateKnown: {blockUpdateKnown: {Value: "Payments fail for 4% of users."}},
		blockUpdateDoing: {blockUpdateDoing: {Value: "Rolling back the 14:02 deploy."}},
	}
	require.Nil(t, formErrors(t, tr.submit(t, tr.ic.ID, v, values)))

	// The same view again, as Slack sends it when Post is pressed again.
	cb, err := slackfake.ViewSubmission(tr.ic.ID, v, values)
	require.NoError(t, err)
	r, err := tr.driver.Interaction(ctx, tr.base+"/slack/interactions", cb)
	require.NoError(t, err)
	require.Equal(t, 200, r.StatusCode)
	require.Nil(t, formErrors(t, r), "the second submission closes the form")

	updates, err := tr.store.ListStatusUpdates(ctx, tr.inc.ID)
	require.NoError(t, err)
	require.Len(t, updates, 1, "the update was stored twice")
	events, err := tr.store.ListTimeline(ctx, tr.inc.ID)
	require.NoError(t, err)
	posted := 0
	for _, e := range events {
		if e.Kind == incident.EventUpdatePosted {
			posted++
		}
	}
	require.Equal(t, 1, posted, "the update is on the timeline twice")
	tr.queue.RunAll(t)
	said := 0
	for _, m := range tr.srv.Messages(tr.inc.ChannelID) {
		if strings.Contains(m.Text, "Payments fail for 4% of users.") {
			said++
		}
	}
	require.Equal(t, 1, said, "the update is said twice in the channel")
	for _, e := range tr.srv.Ephemerals(tr.inc.ChannelID) {
		require.NotContains(t, e.Text, "already posted", "the person is told of an error after a post that worked")
	}

	// Another update, in a new form, is posted.
	tr.click(t, tr.ic.ID, ActionPostUpdate)
	v2 := tr.openedView(t, ViewUpdate)
	require.NotEqual(t, v.ID, v2.ID)
	require.Nil(t, formErrors(t, tr.submit(t, tr.ic.ID, v2, map[string]map[string]slack.BlockAction{
		blockUpdateKnown: {blockUpdateKnown: {Value: "Error rate back to baseline."}}})))
	updates, err = tr.store.ListStatusUpdates(ctx, tr.inc.ID)
	require.NoError(t, err)
	require.Len(t, updates, 2)
}
