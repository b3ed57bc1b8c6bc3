package bot_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
)

// TestReopenOfferSaysWhyAndQuotesTheUpdate: the offer made after a reopen
// says why the public page needs an update, and quotes the update's words
// as written, notifying nobody.
func TestReopenOfferSaysWhyAndQuotesTheUpdate(t *testing.T) {
	t.Parallel()
	n := incident.Notice{Kind: comms.NoticeStatusPageReopenOffer, Incident: "INC-42", Actor: "bot",
		Values: map[string]string{"provider": "Statuspage", "body": "The issue affecting <!channel> & Checkout has returned."}}
	require.Equal(t, ":rotating_light: *INC-42 was reopened after its resolution notice*, and Statuspage still shows it resolved while its components are back in outage. Post this update to reopen it there?\n"+
		">>> The issue affecting &lt;!channel&gt; &amp; Checkout has returned.", bot.NoticeText(n))
}
