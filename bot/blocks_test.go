package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// goldenPolicy is the default policy with one service.
func goldenPolicy() incident.Policy {
	p := incident.DefaultPolicy()
	p.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout API"}}
	return p
}

var goldenDeclared = time.Date(2026, 3, 1, 11, 48, 0, 0, time.UTC)

// goldenIncident is a P1 under investigation with an IC and one of the three
// roles taken; its title needs mrkdwn escaping.
func goldenIncident() *incident.Incident {
	return &incident.Incident{
		ID: 7, Number: 42, Title: "Checkout is down: p99 > 2s & rising", Severity: incident.P1,
		Status: incident.StatusInvestigating, Service: "checkout", DeclaredBy: "U0ALICE", Commander: "U0ALICE",
		Roles:     map[string]string{incident.RoleComms: "U0BOB", incident.RoleOps: "U0CAROL"},
		ChannelID: "C0INC42", ChannelName: "inc-20260301-checkout-is-down", PanelTS: "1772365680.000100",
		DeclaredAt: goldenDeclared,
	}
}

func resolvedIncident() *incident.Incident {
	inc := goldenIncident()
	resolved := goldenDeclared.Add(77 * time.Minute)
	inc.Status, inc.ResolvedAt = incident.StatusResolved, &resolved
	inc.Summary = "Rolled back deploy #1234 of checkout; the <connection pool> fix follows."
	return inc
}

func closedIncident() *incident.Incident {
	inc := resolvedIncident()
	closed := goldenDeclared.Add(26 * time.Hour)
	inc.Status, inc.ClosedAt = incident.StatusClosed, &closed
	return inc
}

func TestBlocksGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file   string
		blocks []slack.Block
	}{
		{"panel_investigating.golden", bot.PanelBlocks(goldenIncident(), goldenPolicy())},
		{"panel_resolved.golden", bot.PanelBlocks(resolvedIncident(), goldenPolicy())},
		{"panel_closed.golden", bot.PanelBlocks(closedIncident(), goldenPolicy())},
		{"announcement.golden", bot.AnnouncementBlocks(goldenIncident(), goldenPolicy())},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			// Unescaped, so the golden files read like the messages.
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			require.NoError(t, enc.Encode(tt.blocks))
			got := buf.Bytes()
			incidenttest.Golden(t, filepath.Join("testdata", tt.file), got)
		})
	}
}

// renderedBlock is the part of a block the tests inspect.
type renderedBlock struct {
	Type     string            `json:"type"`
	BlockID  string            `json:"block_id"`
	Text     *renderedText     `json:"text"`
	Fields   []renderedText    `json:"fields"`
	Elements []renderedElement `json:"elements"`
}

// renderedElement is a button or a context text object; Text is a text
// object for the first and a string for the second.
type renderedElement struct {
	Type     string          `json:"type"`
	ActionID string          `json:"action_id"`
	Value    string          `json:"value"`
	Style    string          `json:"style"`
	Text     json.RawMessage `json:"text"`
	Confirm  *struct {
		Title renderedText `json:"title"`
	} `json:"confirm"`
}

func (e renderedElement) text() string {
	var s string
	if json.Unmarshal(e.Text, &s) == nil {
		return s
	}
	var o renderedText
	_ = json.Unmarshal(e.Text, &o)
	return o.Text
}

type renderedText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func render(t *testing.T, blocks []slack.Block) []renderedBlock {
	t.Helper()
	raw, err := json.Marshal(blocks)
	require.NoError(t, err)
	var out []renderedBlock
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

func actionsOf(blocks []renderedBlock) *renderedBlock {
	for i := range blocks {
		if blocks[i].Type == "actions" {
			return &blocks[i]
		}
	}
	return nil
}

func TestPanelButtons(t *testing.T) {
	t.Parallel()
	all := []string{bot.ActionClaimIC, bot.ActionAssignRoles, bot.ActionPostUpdate, bot.ActionChangeSeverity,
		bot.ActionPage, bot.ActionWhatChanged, bot.ActionResolve}
	tests := []struct {
		name string
		inc  *incident.Incident
		want []string
	}{
		{"investigating", goldenIncident(), all},
		{"resolved has no Resolve", resolvedIncident(), all[:6]},
		{"closed has no buttons", closedIncident(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			actions := actionsOf(render(t, bot.PanelBlocks(tt.inc, goldenPolicy())))
			if tt.want == nil {
				require.Nil(t, actions)
				return
			}
			require.NotNil(t, actions)
			var ids []string
			for _, e := range actions.Elements {
				ids = append(ids, e.ActionID)
				require.Equal(t, "7", e.Value, "every button carries the incident id")
				require.Equal(t, "button", e.Type)
				if e.ActionID == bot.ActionResolve {
					require.Equal(t, "danger", e.Style)
					require.NotNil(t, e.Confirm)
					require.Equal(t, "Resolve INC-42?", e.Confirm.Title.Text)
				}
			}
			require.Equal(t, tt.want, ids)
		})
	}
}

func TestPanelFields(t *testing.T) {
	t.Parallel()
	inc := goldenIncident()
	inc.Commander = ""
	blocks := render(t, bot.PanelBlocks(inc, goldenPolicy()))
	require.Equal(t, "header", blocks[0].Type)
	require.Equal(t, "🚨 INC-42: Checkout is down: p99 > 2s & rising", blocks[0].Text.Text, "plain text is not escaped")
	var fields []string
	for _, f := range blocks[1].Fields {
		fields = append(fields, f.Text)
	}
	require.Equal(t, []string{
		"*Severity*\nP1 · critical",
		"*Status*\nInvestigating",
		"*Incident Commander*\n_unassigned_",
		"*Comms*\n<@U0BOB>",
		"*Ops*\n<@U0CAROL>",
		"*Scribe*\n_unassigned_",
		"*Declared*\n<!date^1772365680^{date_short_pretty} {time} · {ago}|2026-03-01 11:48 UTC>",
		"*Service*\nCheckout API",
	}, fields)
	require.Equal(t, "context", blocks[2].Type)
	require.Equal(t, "<#C0INC42> · Respond within 15 minutes", blocks[2].Elements[0].text())

	ann := render(t, bot.AnnouncementBlocks(inc, goldenPolicy()))
	require.Equal(t, "🚨 *INC-42* (P1 · critical) Checkout is down: p99 &gt; 2s &amp; rising", ann[0].Text.Text)
}

func TestPanelContextByTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		severity incident.Severity
		want     string
	}{
		{incident.P1, "<#C0INC42> · Respond within 15 minutes"},
		{incident.P2, "<#C0INC42> · Respond within 1 hour"},
		{incident.P3, "<#C0INC42> · Response target: next business day"},
	}
	for _, tt := range tests {
		inc := goldenIncident()
		inc.Severity = tt.severity
		blocks := render(t, bot.PanelBlocks(inc, goldenPolicy()))
		require.Equal(t, tt.want, blocks[2].Elements[0].text())
	}
}

// extremePolicy has more roles than fit one section, with names far longer
// than a field allows.
func extremePolicy() incident.Policy {
	p := goldenPolicy()
	p.Roles = nil
	for i := range 14 {
		p.Roles = append(p.Roles, strings.Repeat(string(rune('a'+i)), 2500))
	}
	sp := p.Severity(incident.P2)
	sp.Label = strings.Repeat("<very high>", 300)
	sp.TargetText = strings.Repeat("soon & ", 600)
	p.Severities[incident.P2] = sp
	p.Services["checkout"] = incident.ServicePolicy{Key: "checkout", Name: strings.Repeat("Checkout ", 400)}
	return p
}

func extremeIncident() *incident.Incident {
	inc := goldenIncident()
	inc.Title = strings.Repeat("ü", incident.MaxTitleLength)
	inc.Severity = incident.P2
	inc.Roles = map[string]string{}
	for _, r := range extremePolicy().Roles {
		inc.Roles[r] = "U0SOMEONE"
	}
	return inc
}

func TestPanelRespectsBlockKitLimits(t *testing.T) {
	t.Parallel()
	inc := extremeIncident()
	blocks := render(t, bot.PanelBlocks(inc, extremePolicy()))
	require.LessOrEqual(t, len(blocks), 50)
	header := blocks[0].Text.Text
	require.Equal(t, 150, utf8.RuneCountInString(header))
	require.True(t, strings.HasSuffix(header, "…"))
	var fields int
	for _, b := range blocks {
		require.LessOrEqual(t, len(b.Fields), 10)
		fields += len(b.Fields)
		for _, f := range b.Fields {
			require.LessOrEqual(t, utf8.RuneCountInString(f.Text), 2000)
		}
		if b.Text != nil {
			require.LessOrEqual(t, utf8.RuneCountInString(b.Text.Text), 3000)
		}
		for _, e := range b.Elements {
			require.LessOrEqual(t, utf8.RuneCountInString(e.text()), 3000)
		}
	}
	require.Equal(t, 3+14+2, fields, "every role is shown, over two sections")
}

func TestFieldsBeyondBlockLimitAreSummed(t *testing.T) {
	t.Parallel()
	p := goldenPolicy()
	p.Roles = nil
	for i := range 600 {
		p.Roles = append(p.Roles, fmt.Sprintf("role%d", i))
	}
	blocks := render(t, bot.PanelBlocks(goldenIncident(), p))
	require.Len(t, blocks, 50)
	last := blocks[len(blocks)-3] // before the context and the buttons
	require.Equal(t, "section", last.Type)
	require.Contains(t, last.Fields[len(last.Fields)-1].Text, "more_")
}

// TestFakeSlackAcceptsEveryPanel posts and edits each rendered panel and
// announcement through the Chat, so the fake's Block Kit validation checks
// every limit the way Slack would.
func TestFakeSlackAcceptsEveryPanel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		policy incident.Policy
		inc    *incident.Incident
	}{
		{"investigating", goldenPolicy(), goldenIncident()},
		{"resolved", goldenPolicy(), resolvedIncident()},
		{"closed", goldenPolicy(), closedIncident()},
		{"extreme", extremePolicy(), extremeIncident()},
		{"long summary", goldenPolicy(), func() *incident.Incident {
			inc := resolvedIncident()
			inc.Title = strings.Repeat("x", incident.MaxTitleLength)
			inc.Summary = strings.Repeat("<&>", 2000)
			return inc
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newChatFixture(t, func(c *chatFixtureConfig) { c.policy = tt.policy })
			ctx := context.Background()
			ch := f.botChannel(t, "inc-42")
			broadcast := f.botChannel(t, "incidents")
			inc := tt.inc
			inc.ChannelID = ch.ID

			ts, err := f.chat.PostPanel(ctx, inc)
			require.NoError(t, err)
			inc.PanelTS = ts
			require.NoError(t, f.chat.UpdatePanel(ctx, inc))
			chID, ats, err := f.chat.Announce(ctx, "#incidents", inc)
			require.NoError(t, err)
			require.Equal(t, broadcast.ID, chID)
			require.NoError(t, f.chat.UpdateAnnouncement(ctx, chID, ats, inc))
			for _, c := range f.srv.Calls() {
				require.True(t, c.OK(), "%s failed: %s %s", c.Method, c.Error, c.Response)
			}
		})
	}
}
