package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestDeclareFormOffersEveryService: a policy with more services than a
// select holds (100), and a key longer than an option's value may be (150),
// still opens the declare form, which Slack accepts, offers each service
// once, and declares for the one chosen.
func TestDeclareFormOffersEveryService(t *testing.T) {
	long := strings.Repeat("payments-", 25) + "ledger"
	tr := newTransportWith(t, nil, func(p *incident.Policy) {
		for i := range 150 {
			k := fmt.Sprintf("svc-%03d", i)
			p.Services[k] = incident.ServicePolicy{Key: k, Name: "Service " + k}
		}
		p.Services[long] = incident.ServicePolicy{Key: long, Name: long}
	})
	r := tr.command(t, tr.other.ID, "C0GENERAL", "declare")
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.NotContains(t, string(r.Body), "did not open", "the declare form opens")
	for _, c := range tr.srv.Calls() {
		require.True(t, c.OK(), "%s failed: %s %s", c.Method, c.Error, c.Response)
	}
	v := tr.openedView(t, ViewDeclare)

	var view struct {
		Blocks []struct {
			BlockID string `json:"block_id"`
			Element struct {
				Options      []slack.OptionBlockObject `json:"options"`
				OptionGroups []struct {
					Options []slack.OptionBlockObject `json:"options"`
				} `json:"option_groups"`
			} `json:"element"`
		} `json:"blocks"`
	}
	require.NoError(t, json.Unmarshal(v.JSON, &view))
	byText := map[string]string{}
	for _, b := range view.Blocks {
		if b.BlockID != blockService {
			continue
		}
		opts := b.Element.Options
		for _, g := range b.Element.OptionGroups {
			opts = append(opts, g.Options...)
		}
		for _, o := range opts {
			byText[o.Text.Text] = o.Value
		}
	}
	require.Len(t, byText, 152, "every service is offered once, checkout among them")

	declare := func(title, option string) *incident.Incident {
		t.Helper()
		r := tr.submit(t, tr.other.ID, v, map[string]map[string]slack.BlockAction{
			blockTitle:     {blockTitle: {Value: title}},
			blockSeverity:  {blockSeverity: {SelectedOption: slack.OptionBlockObject{Value: "P3"}}},
			blockCommander: {blockCommander: {SelectedUser: tr.other.ID}},
			blockService:   {blockService: {SelectedOption: slack.OptionBlockObject{Value: option}}},
		})
		list, err := tr.svc.List(context.Background())
		require.NoError(t, err)
		for _, inc := range list {
			if inc.Title == title {
				return inc
			}
		}
		t.Fatalf("%q was not declared: %s", title, r.Body)
		return nil
	}
	require.Equal(t, "svc-149", declare("the last service", byText["Service svc-149"]).Service)
	// A submitted form declares once: the next declaration is a new form.
	tr.command(t, tr.other.ID, "C0GENERAL", "declare")
	v = tr.openedView(t, ViewDeclare)
	longOption := byText[clip(long, 75)]
	require.NotEmpty(t, longOption)
	require.Equal(t, long, declare("the long key", longOption).Service)
}

// TestRolesFormWithAnyRoleNames: the roles form opens, and Slack accepts
// it, whatever the policy calls its roles: names in any script are labelled
// as written, a name longer than a block id may be (255) is still assigned,
// and roles past what a form holds (100 blocks) are said to be left out.
func TestRolesFormWithAnyRoleNames(t *testing.T) {
	long := strings.Repeat("customer_success_liaison_", 12)
	tr := newTransportWith(t, nil, func(p *incident.Policy) {
		p.Roles = append(p.Roles, "広報", long)
		for i := range 120 {
			p.Roles = append(p.Roles, fmt.Sprintf("extra%03d", i))
		}
	})
	tr.click(t, tr.ic.ID, ActionAssignRoles)
	for _, c := range tr.srv.Calls() {
		require.True(t, c.OK(), "%s failed: %s %s", c.Method, c.Error, c.Response)
	}
	v := tr.openedView(t, ViewRoles)
	var view struct {
		Blocks []struct {
			Type    string `json:"type"`
			BlockID string `json:"block_id"`
			Label   struct {
				Text string `json:"text"`
			} `json:"label"`
			Elements []struct {
				Text string `json:"text"`
			} `json:"elements"`
			Element struct {
				ActionID string `json:"action_id"`
			} `json:"element"`
		} `json:"blocks"`
	}
	require.NoError(t, json.Unmarshal(v.JSON, &view))
	require.LessOrEqual(t, len(view.Blocks), 100)
	labels := map[string]string{}
	for _, b := range view.Blocks {
		labels[b.Label.Text] = b.BlockID
		require.Equal(t, b.BlockID, b.Element.ActionID)
	}
	require.Contains(t, labels, "広報 lead", "the role is labelled as written")
	last := view.Blocks[len(view.Blocks)-1]
	require.Equal(t, "context", last.Type)
	require.Contains(t, last.Elements[0].Text, "more roles", "the roles left out are said")

	var longID string
	for label, id := range labels {
		if strings.HasPrefix(label, "Customer success liaison") {
			longID = id
		}
	}
	require.NotEmpty(t, longID, "the long role is offered")
	tr.submit(t, tr.ic.ID, v, map[string]map[string]slack.BlockAction{
		longID: {longID: {SelectedUser: tr.other.ID}},
		"広報":   {"広報": {SelectedUser: tr.other.ID}},
	})
	inc := tr.incident(t)
	require.Equal(t, tr.other.ID, inc.Roles[long])
	require.Equal(t, tr.other.ID, inc.Roles["広報"])
}

// TestDeclareFormWithoutPaging: a policy under which no severity pages
// anyone still opens the declare form, and Slack accepts it.
func TestDeclareFormWithoutPaging(t *testing.T) {
	tr := newTransportWith(t, nil, func(p *incident.Policy) {
		for _, s := range incident.Severities {
			sp := p.Severity(s)
			sp.Paging = incident.PageNone
			p.Severities[s] = sp
		}
	})
	r := tr.command(t, tr.other.ID, "C0GENERAL", "declare")
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.NotContains(t, string(r.Body), "did not open", "the declare form opens")
	tr.openedView(t, ViewDeclare)
}

// TestDeclareFromMessagePrefillsPlainText: "Declare from message" fills the
// form with what the message says as people read it: Slack's entities and
// markup (mentions, links) become plain text, so the title is not cut inside
// a mention nor saved with "&amp;" in it.
func TestDeclareFromMessagePrefillsPlainText(t *testing.T) {
	tr := newTransport(t)
	text := "<@" + tr.other.ID + "|other> says checkout &amp; payments fail &lt;again&gt; for every EU customer since the 14:02 deploy\n" +
		"Details: <https://grafana.example.com/d/abc|dashboard>"
	cb := slack.InteractionCallback{Type: slack.InteractionTypeMessageAction, CallbackID: ShortcutDeclareFromMessage,
		User: slack.User{ID: tr.ic.ID}, Channel: slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: "C0GENERAL"}}},
		Message: slack.Message{Msg: slack.Msg{Text: text, User: tr.other.ID, Timestamp: "1786112000.000100"}}}
	tr.interact(t, &cb)
	v := tr.openedView(t, ViewDeclare)
	var view struct {
		Blocks []struct {
			BlockID string `json:"block_id"`
			Element struct {
				InitialValue string `json:"initial_value"`
			} `json:"element"`
		} `json:"blocks"`
	}
	require.NoError(t, json.Unmarshal(v.JSON, &view))
	initial := map[string]string{}
	for _, b := range view.Blocks {
		initial[b.BlockID] = b.Element.InitialValue
	}
	require.True(t, strings.HasPrefix(initial[blockTitle], "@other says checkout & payments fail <again> for every EU"), initial[blockTitle])
	require.Contains(t, initial[blockDescription], "Details: dashboard (https://grafana.example.com/d/abc)")
	require.NotContains(t, initial[blockDescription], "&amp;")
}
