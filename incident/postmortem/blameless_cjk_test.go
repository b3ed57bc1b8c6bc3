package postmortem_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/postmortem"
	"github.com/firebreakhq/firebreak/incident/storetest"
)

// cjkDraft is the Markdown draft of a resolved incident described in
// another script, whose responder's Slack display name is displayName.
func cjkDraft(t *testing.T, displayName, description string) string {
	t.Helper()
	ctx := context.Background()
	clock := incidenttest.NewClock(declaredAt().Add(3 * time.Hour))
	store := storetest.Open[partsStore](t, storetest.Memory, clock, incidenttest.NewQueue())
	srv := slackfake.New(slackfake.WithClock(clock.Now))
	t.Cleanup(srv.Close)
	responder := srv.AddUser(slackfake.User{Name: "responder", DisplayName: displayName, Email: "responder@example.com"})
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-20260314-pay", Creator: srv.BotUserID(), Members: []string{srv.BotUserID(), responder.ID}})
	chat := bot.NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), incident.DefaultPolicy(), bot.WithChatClock(clock))
	pm := postmortem.New(postmortem.Config{Split: bot.MarkdownParts, Store: store, Chat: chat, Scheduler: newAttemptEngine(),
		Renderer: mustTemplates(t), Clock: clock})
	resolved := declaredAt().Add(2 * time.Hour)
	inc, err := store.CreateIncident(ctx, &incident.Incident{Title: "Payments down", Severity: incident.P2, Status: incident.StatusResolved,
		Service: "payments", DeclaredBy: responder.ID, Commander: responder.ID, ChannelID: ch.ID, Roles: map[string]string{},
		DeclaredAt: declaredAt(), ResolvedAt: &resolved, Description: description})
	require.NoError(t, err)
	require.NoError(t, store.AddTimelineEvent(ctx, &incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventNote, Actor: responder.ID,
		At: declaredAt().Add(time.Minute), Key: true, SourceID: "note:1", Text: "rolled back"}))
	_, doc, err := pm.Draft(ctx, inc.ID)
	require.NoError(t, err)
	return doc.Markdown
}

// A responder named in Chinese, Japanese or Korean is found where the
// summary names them, followed directly by a particle or an honorific as
// those languages write; a name with a space in Slack is found written
// without one. The review notes say the wording check reads English only,
// and never that the check found nothing.
func TestDraftReviewNotesFindNamesInCJKScripts(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, display, description, phrase string }{
		{"japanese with an honorific", "田中", "田中さんのデプロイ後に決済が停止しました。", "田中"},
		{"japanese full name written without its space", "田中 太郎", "田中太郎のデプロイ後に決済が停止しました。", "田中太郎"},
		{"chinese", "李雷", "李雷忘记了回滚。", "李雷"},
		{"korean with a particle", "김철수", "김철수가 배포 후 롤백을 잊었습니다.", "김철수"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			md := cjkDraft(t, c.display, c.description)
			_, notes, ok := strings.Cut(md, "## Review notes")
			require.True(t, ok, md)
			require.NotContains(t, notes, "found no names or blame language")
			require.Contains(t, notes, `- Summary: "`+c.phrase+`".`)
			require.Contains(t, notes, "English")
		})
	}
}

// BlamelessCheck on text in Chinese, Japanese and Korean: names are found
// next to particles and honorifics, a one-character part of a name is not
// a name, and wording beyond names is said to be unchecked; English and
// other Latin-script text is read as before.
func TestBlamelessCheckCJKNames(t *testing.T) {
	t.Parallel()
	const unchecked = "(unchecked)"
	tests := []struct {
		name, text string
		names      []string
		want       []string
	}{
		{"japanese honorific", "影響: 田中さんのデプロイ後に決済が停止しました。", []string{"田中"}, []string{"田中", unchecked}},
		{"japanese full name without its space", "影響: 田中太郎のデプロイ後に決済が停止しました。", []string{"田中 太郎"}, []string{"田中太郎", unchecked}},
		{"japanese full name with its space", "田中 太郎がロールバックした", []string{"田中 太郎"}, []string{"田中 太郎", unchecked}},
		{"family name alone of a full name", "田中さんがロールバックした", []string{"田中 太郎"}, []string{"田中", unchecked}},
		{"chinese", "影响：李雷忘记了回滚。", []string{"李雷"}, []string{"李雷", unchecked}},
		{"chinese one-character surname alone is no name", "李先生忘记了回滚。", []string{"李 雷"}, []string{unchecked}},
		{"korean particle", "김철수가 배포 후 롤백을 잊었습니다.", []string{"김철수"}, []string{"김철수", unchecked}},
		{"katakana name", "ジョンさんが再起動した", []string{"ジョン"}, []string{"ジョン", unchecked}},
		{"a cjk name in english text", "Rolled back by 李雷 at 14:10.", []string{"李雷"}, []string{"李雷"}},
		{"english with a cjk name before blame", "李雷 forgot to roll back.", []string{"李雷"}, []string{"李雷", "forgot to"}},
		{"cjk wording with no names", "決済が停止しました。", nil, []string{unchecked}},
		{"latin name still needs word boundaries", "Alerting and Albert are not Al", []string{"Al"}, []string{"Al"}},
		{"spanish", "Impacto: Zoë olvidó revertir el cambio.", []string{"Zoë"}, []string{"Zoë"}},
		{"latin full name", "Impact: José García forgot to roll back.", []string{"José García"}, []string{"José García", "forgot to"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, f := range postmortem.BlamelessCheck("Summary", tt.text, tt.names) {
				p := f.Phrase
				if strings.Contains(f.Suggestion, "English only") {
					require.NotEmpty(t, p)
					require.Contains(t, tt.text, p, "the unchecked wording is quoted")
					p = unchecked
				}
				got = append(got, p)
			}
			require.Equal(t, tt.want, got)
		})
	}
}
