package bot

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
)

// TestPublishButtonPostsTheTextItsProposalShowed: the Publish button of a
// proposal carries the text the proposal showed; the click posts exactly
// that text, whatever the draft reads by then, and the Edit button opens
// the form on it.
func TestPublishButtonPostsTheTextItsProposalShowed(t *testing.T) {
	tr, page := newStatusPageTransport(t)
	shown := "We are aware of an issue affecting Checkout & its payments. We will post an update within 10 minutes."
	value := strconv.FormatInt(tr.inc.ID, 10) + "|" + incident.PostAcknowledge + "||t:" + shown

	tr.clickIn(t, tr.ic.ID, incident.ActionStatusPageEdit, value)
	form := tr.openedView(t, ViewStatusPage)
	require.Contains(t, string(form.JSON), "Checkout \\u0026 its payments", "the form starts from the text shown")

	tr.clickIn(t, tr.ic.ID, incident.ActionStatusPagePublish, value)
	tr.queue.Run(t, comms.JobStatusPagePost)
	require.Equal(t, []string{shown}, page.bodies())
}
