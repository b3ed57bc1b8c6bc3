package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/changes"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// More deployments before an incident than GitHub is read for: the list in
// the channel, asked for with the What changed? button, says that it
// shows only the newest of them, and the list's own cut, rather than pass
// them for all.
func TestWhatChangedSaysGitHubListedOnlyTheNewestDeployments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	start := time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC)
	clock := incidenttest.NewClock(start)
	srv := slackfake.New(slackfake.WithClock(clock.Now))
	t.Cleanup(srv.Close)
	ic := srv.AddUser(slackfake.User{Name: "ic", Email: "ic@example.com"})

	gh := ghfake.New(ghfake.WithClock(clock.Now))
	t.Cleanup(gh.Close)
	gh.AddRepo("acme/checkout", "main", "")
	for i := range 60 {
		created := start.Add(-time.Hour + time.Duration(i)*55*time.Second)
		gh.AddDeployment("acme/checkout", ghfake.Deployment{SHA: fmt.Sprintf("%040d", i), Ref: "main", Environment: "production",
			Creator: "ada", CreatedAt: created, Statuses: []ghfake.DeploymentStatus{{State: "success", CreatedAt: created.Add(10 * time.Second)}}})
	}
	source, err := github.New(github.Config{APIURL: gh.URL(), Token: gh.Token(), Clock: clock})
	require.NoError(t, err)

	policy := incident.DefaultPolicy()
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout",
		GitHub: incident.GitHubService{Repos: []string{"acme/checkout"}, Environments: []string{"production"}}}}
	api := slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL()))
	store := incidenttest.NewMemStore(clock)
	queue := incidenttest.NewQueue()
	store.SetScheduler(queue)
	chat := NewChat(api, policy, WithChatClock(clock))
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: queue, Policy: policy, Clock: clock, Chat: chat.Roles()})
	svc.RegisterJobs(queue)
	chg := changes.New(changes.Config{Store: store, Core: svc, Chat: chat, Scheduler: queue, Policy: policy, Clock: clock,
		Sources: []incident.ChangeSource{source}})
	chg.RegisterJobs(queue)
	svc.Use(chg.Feature())
	h := New(withService(Config{Slack: api, Scheduler: queue, Replays: store, Clock: clock, Changes: chg, Rollbacks: chg.Rollbacks()},
		svc, store, chat))

	// A flag change recorded by webhook makes 51 changes: one more than a
	// list holds.
	require.NoError(t, chg.RecordChange(ctx, incident.ChangeEvent{Source: "launchdarkly", ExternalID: "ld-1", Kind: incident.ChangeFlag,
		Service: "checkout", Summary: "Turned on new-checkout", Environment: "production", Ref: "new-checkout", OccurredAt: start.Add(-59 * time.Minute)}))
	inc, _, err := svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P2, ServiceKey: "checkout", DeclaredBy: ic.ID})
	require.NoError(t, err)
	queue.Run(t, incident.JobSetup)
	inc, err = store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.NotEmpty(t, inc.ChannelID)

	clock.Advance(10 * time.Second)
	cb := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, TriggerID: srv.NewTriggerIDFor(ic.ID, "", 0), User: slack.User{ID: ic.ID}}
	cb.Channel.ID = inc.ChannelID
	cb.ActionCallback.BlockActions = []*slack.BlockAction{{ActionID: ActionWhatChanged, Value: fmt.Sprint(inc.ID)}}
	h.Interaction(ctx, cb)
	require.Equal(t, 2, queue.Pending(changes.JobChanges), "the list at declare and the one asked for")
	for _, err := range queue.Run(t, changes.JobChanges) {
		require.NoError(t, err)
	}

	var lists []slackfake.Message
	for _, m := range srv.Messages(inc.ChannelID) {
		if strings.Contains(m.Text, "What changed before") {
			lists = append(lists, m)
		}
	}
	require.Len(t, lists, 2)
	for _, m := range lists {
		var blocks slack.Blocks
		require.NoError(t, blocks.UnmarshalJSON(m.Blocks))
		text := blockText(blocks)
		require.Contains(t, text, "51 change(s) in the 1 h before "+inc.Key()+" started", "the count is of every change gathered")
		require.Contains(t, text, "…and 29 older change(s).", "22 shown; 28 more listed and the 1 past the list's limit")
		require.Contains(t, text, ":warning: GitHub: showing the newest 50 deployments to production in acme/checkout of more in this window; older ones are not listed.")
		require.NotContains(t, text, "Turned on new-checkout", "the oldest change is past the list's limit")
		require.Contains(t, m.Text, "Older ones are not all listed.")
	}

	events, err := store.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	var shown []string
	for _, ev := range events {
		if ev.Kind == incident.EventChangesShown {
			shown = append(shown, ev.Text)
		}
	}
	require.Len(t, shown, 2)
	require.Contains(t, shown[1], "Listed 50 change(s)")
	require.Contains(t, shown[1], "older changes left out")
}

// With every change read there is nothing to say about a cut.
func TestChangeBlocksWithoutACutSayNothingOfOne(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC)
	inc := &incident.Incident{ID: 1, Number: 1, DeclaredAt: start}
	list := incident.ChangeList{From: start.Add(-time.Hour), To: start, Start: start, Items: []incident.ChangeItem{{Change: incident.ChangeEvent{
		Source: "github", Kind: incident.ChangeDeploy, Summary: "Deploy", OccurredAt: start.Add(-time.Minute)}}}}
	text := blockText(ChangeBlocks(inc, list, time.UTC))
	require.Contains(t, text, "1 change(s)")
	require.NotContains(t, text, "older")
	require.NotContains(t, text, "newest")

	list.Cuts = []incident.SourceCut{{Source: "GitHub", What: "deployments in acme/<checkout>", Read: 50}}
	text = blockText(ChangeBlocks(inc, list, time.UTC))
	require.Contains(t, text, "GitHub: showing the newest 50 deployments in acme/&lt;checkout&gt; of more in this window", "escaped once")
}

// blockText gathers the text of section and context blocks.
func blockText(blocks any) string {
	var bs []slack.Block
	switch v := blocks.(type) {
	case slack.Blocks:
		bs = v.BlockSet
	case []slack.Block:
		bs = v
	}
	var out []string
	for _, b := range bs {
		switch b := b.(type) {
		case *slack.SectionBlock:
			if b.Text != nil {
				out = append(out, b.Text.Text)
			}
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					out = append(out, t.Text)
				}
			}
		}
	}
	return strings.Join(out, "\n")
}
