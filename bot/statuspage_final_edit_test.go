package bot

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
)

// refusingPage is a status page that refuses every post's words, as
// Statuspage answers 422.
type refusingPage struct{ memPage }

func (p *refusingPage) Create(context.Context, comms.PublicPost, bool) (comms.PublicIncident, error) {
	return comms.PublicIncident{}, incident.Errorf(incident.EINVALID, "Statuspage refused the post: body is invalid")
}

// buttonIn is the value of the last button with the action id in the
// incident channel's messages that contain sub.
func (tr *transport) buttonIn(t *testing.T, sub, action string) string {
	t.Helper()
	msgs := tr.srv.Messages(tr.inc.ChannelID)
	for i := len(msgs) - 1; i >= 0; i-- {
		if !strings.Contains(msgs[i].Text, sub) {
			continue
		}
		var blocks []struct {
			Elements []struct {
				ActionID string `json:"action_id"`
				Value    string `json:"value"`
			} `json:"elements"`
		}
		require.NoError(t, json.Unmarshal(msgs[i].Blocks, &blocks))
		for _, bl := range blocks {
			for _, el := range bl.Elements {
				if el.ActionID == action {
					return el.Value
				}
			}
		}
	}
	t.Fatalf("no %s button on a message with %q", action, sub)
	return ""
}

// TestEditOfARefusedLongPostStartsFromItsWords: a post the status page
// refused offers Edit, to post other words. Words too long to ride on the
// button (2,000 bytes: some 700 Japanese characters) still open the form:
// the form starts from the refused words, not from the template's draft.
func TestEditOfARefusedLongPostStartsFromItsWords(t *testing.T) {
	page := &refusingPage{}
	tr := newTransportWith(t, []comms.StatusPage{page}, func(p *incident.Policy) {
		svc := p.Services["checkout"]
		svc.StatusPage.Components = []string{"cmp-api"}
		p.Services["checkout"] = svc
	})
	words := "決済が一部のお客様で失敗しています。" + strings.Repeat("復旧作業を進めています。", 55) + "最後の文。"
	require.Greater(t, len(words), 2000, "too long for a button, in bytes")
	require.Less(t, len([]rune(words)), 1000, "though under 2,000 characters")

	r := tr.command(t, tr.ic.ID, tr.inc.ChannelID, "statuspage "+words)
	require.Contains(t, string(r.Body), "Posting INC-1 to the status page")
	tr.queue.Run(t)
	value := tr.buttonIn(t, "failed", incident.ActionStatusPageEdit)
	_, ok := comms.ShownText(value)
	require.False(t, ok, "the words do not fit on the button")

	tr.clickIn(t, tr.ic.ID, incident.ActionStatusPageEdit, value)
	form := string(tr.openedView(t, ViewStatusPage).JSON)
	require.Contains(t, form, "最後の文。", "the form starts from the refused words")
	require.NotContains(t, form, "We are aware", "not from the template's draft")
}
