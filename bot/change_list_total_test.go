package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// TestChangeListStaysWithinSlackTotal: a "what changed?" list of changes at
// their documented limits (a change webhook's 300-character summary and
// 2,000-character URL; GitHub merges with long titles), each with a
// rollback button, is posted: Slack would refuse the whole message past
// 12,000 characters of block text (msg_blocks_too_long), so the list shows
// the newest changes that fit and says how many older ones it leaves out.
func TestChangeListStaysWithinSlackTotal(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 8, 7, 14, 0, 0, 0, time.UTC)
	inc := &incident.Incident{ID: 1, Number: 7, Title: "checkout down", DeclaredAt: start}
	for _, tc := range []struct {
		name    string
		summary func(i int) string
		url     func(i int) string
	}{
		{"change webhook at its limits", func(int) string { return strings.Repeat("s", 300) },
			func(int) string {
				return "https://argo.example.com/applications/checkout?" + strings.Repeat("q", 2000-47)
			}},
		{"github merges with 200-character titles", func(i int) string {
			return fmt.Sprintf("Merged acme/checkout-service#%d into main: %s", 10000+i, strings.Repeat("Refactor payment retry ", 9)[:200])
		}, func(i int) string { return fmt.Sprintf("https://github.com/acme/checkout-service/pull/%d", 10000+i) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newChatFixture(t)
			ch := f.botChannel(t, "inc-7")
			list := incident.ChangeList{From: start.Add(-2 * time.Hour), To: start, Start: start, Omitted: 5,
				Failures: []incident.SourceFailure{{Source: "launchdarkly", Message: "LaunchDarkly did not answer."}}}
			for i := range 30 {
				list.Items = append(list.Items, incident.ChangeItem{Highlight: i < 10, Action: "Roll back", Value: strconv.Itoa(i),
					Change: incident.ChangeEvent{Source: "github", Kind: "pull_request", Summary: tc.summary(i), URL: tc.url(i),
						Actor: "some-engineer", OccurredAt: start.Add(-time.Duration(i) * time.Minute)}})
			}
			ts, err := f.chat.PostChanges(context.Background(), ch.ID, inc, list)
			require.NoError(t, err, "Slack takes the list")
			msg, ok := f.srv.Message(ch.ID, ts)
			require.True(t, ok)

			var blocks []any
			require.NoError(t, json.Unmarshal(msg.Blocks, &blocks))
			total := slackfake.BlocksText(blocks)
			require.LessOrEqual(t, total, 11000, "within the bot's budget")
			text := string(msg.Blocks)
			shown := strings.Count(text, `"action_id":"`+incident.ActionRollback+`"`)
			require.Positive(t, shown)
			m := regexp.MustCompile(`…and (\d+) older change\(s\)\.`).FindStringSubmatch(text)
			require.NotNil(t, m, "says how many are left out")
			require.Equal(t, strconv.Itoa(30-shown+5), m[1])
			require.Contains(t, text, "Could not read launchdarkly", "the failed source is still said")
			// Newest first: the shown ones are the first of the list.
			require.Contains(t, text, `"value":"0"`)
			require.NotContains(t, text, fmt.Sprintf(`"value":"%d"`, shown))
			t.Logf("%d of 30 changes shown, %d characters of block text", shown, total)
		})
	}
}

// TestPanelWithManyRolesStaysWithinSlackTotal: a policy may name any number
// of roles, each with a long name; the control panel of a resolved
// incident with a summary as long as the form takes is still taken by
// Slack, the roles past what fits summed up in a last field.
func TestPanelWithManyRolesStaysWithinSlackTotal(t *testing.T) {
	t.Parallel()
	policy := incident.DefaultPolicy()
	policy.Roles = nil
	for i := range 80 {
		policy.Roles = append(policy.Roles, fmt.Sprintf("role-%02d-%s", i, strings.Repeat("x", 190)))
	}
	f := newChatFixture(t, func(c *chatFixtureConfig) { c.policy = policy })
	ch := f.botChannel(t, "inc-42")
	inc := testIncident(ch.ID)
	resolved := chatNow
	inc.Status, inc.ResolvedAt, inc.Summary = incident.StatusResolved, &resolved, strings.Repeat("s", 2990)

	ts, err := f.chat.PostPanel(context.Background(), inc)
	require.NoError(t, err, "Slack takes the panel")
	msg, ok := f.srv.Message(ch.ID, ts)
	require.True(t, ok)
	var blocks []any
	require.NoError(t, json.Unmarshal(msg.Blocks, &blocks))
	require.LessOrEqual(t, slackfake.BlocksText(blocks), 11000)
	require.Regexp(t, `…and \d+ more`, string(msg.Blocks))
	require.Contains(t, string(msg.Blocks), "Role 00 ", "the first roles are shown")
}
