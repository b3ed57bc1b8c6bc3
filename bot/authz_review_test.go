package bot

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/postmortem"
	"github.com/firebreakhq/firebreak/templates"
)

// replyText is the text of a command's immediate answer.
func replyText(t *testing.T, r *slackfake.Reply) string {
	t.Helper()
	var m struct {
		Text   string          `json:"text"`
		Blocks json.RawMessage `json:"blocks"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &m), string(r.Body))
	return m.Text + "\n" + string(m.Blocks)
}

// ephemeralTo is the text of the ephemerals the person was shown in the
// incident's channel.
func (tr *transport) ephemeralTo(user string) string {
	var out []string
	for _, e := range tr.srv.Ephemerals(tr.inc.ChannelID) {
		if e.User == user {
			out = append(out, e.Text)
		}
	}
	return strings.Join(out, "\n")
}

// Someone who joined the incident's channel cannot take the IC role from
// an IC who is working the incident, by the command or the buttons, and is
// told who the IC is and how to get the role; once the IC has been quiet
// for 15 minutes, they take it after confirming.
func TestTakeoverFromAnActiveICOverHTTP(t *testing.T) {
	tr := newTransport(t)
	tr.clock.Advance(2 * time.Minute)

	r := tr.command(t, tr.other.ID, tr.inc.ChannelID, "ic")
	body := replyText(t, r)
	require.Contains(t, body, "You may not take the Incident Commander role")
	require.Contains(t, body, "<@"+tr.ic.ID+">", "the refusal names the IC")
	require.Contains(t, body, "/incident ic @you", "and how to get the role")
	require.NotContains(t, body, ActionConfirmTakeIC, "no takeover to confirm")
	require.Equal(t, tr.ic.ID, tr.incident(t).Commander)

	// The panel's button, and a forged confirmation, are refused too.
	tr.click(t, tr.other.ID, ActionClaimIC)
	tr.click(t, tr.other.ID, ActionConfirmTakeIC)
	require.Equal(t, tr.ic.ID, tr.incident(t).Commander, "the IC keeps the role")
	require.Contains(t, tr.ephemeralTo(tr.other.ID), "You may not take the Incident Commander role")

	// Resolving stays the IC's.
	r = tr.command(t, tr.other.ID, tr.inc.ChannelID, "resolve fixed")
	require.Contains(t, replyText(t, r), "only the Incident Commander")
	require.True(t, tr.incident(t).Status.Open())

	// The IC goes quiet: the takeover is confirmed in the channel.
	tr.clock.Advance(16 * time.Minute)
	r = tr.command(t, tr.other.ID, tr.inc.ChannelID, "ic")
	require.Contains(t, replyText(t, r), ActionConfirmTakeIC)
	tr.click(t, tr.other.ID, ActionConfirmTakeIC)
	require.Equal(t, tr.other.ID, tr.incident(t).Commander)
}

// A bystander's update is posted and says the reminders keep escalating;
// the IC's starts them over.
func TestBystanderUpdateReplyOverHTTP(t *testing.T) {
	tr := newTransport(t)
	tr.clock.Advance(5 * time.Minute)
	r := tr.command(t, tr.other.ID, tr.inc.ChannelID, "update still investigating")
	require.Contains(t, replyText(t, r), "Update posted for INC-1")
	require.Contains(t, replyText(t, r), "keep escalating")
	inc := tr.incident(t)
	require.Nil(t, inc.LastUpdateAt, "the reminder clock did not move")

	id := strconv.FormatInt(tr.inc.ID, 10)
	tr.interact(t, slackfake.BlockActions(tr.other.ID, tr.inc.ChannelID, "", &slack.BlockAction{ActionID: ActionStillInvestigating, Value: id}))
	require.Nil(t, tr.incident(t).LastUpdateAt, "nor did the nag's button, clicked by someone else")
	require.Contains(t, tr.ephemeralTo(tr.other.ID), "keep escalating", "who clicked is told")

	r = tr.command(t, tr.ic.ID, tr.inc.ChannelID, "update pool exhausted, rolling back")
	require.Contains(t, replyText(t, r), "the reminder clock starts again")
	require.NotNil(t, tr.incident(t).LastUpdateAt)
}

// recordingExporter is an export target that keeps what it was sent.
type recordingExporter struct {
	mu   sync.Mutex
	docs []incident.PostmortemDoc
}

func (e *recordingExporter) Name() string { return "github" }

func (e *recordingExporter) Export(_ context.Context, doc incident.PostmortemDoc, _ *incident.ExportRef) (incident.ExportRef, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.docs = append(e.docs, doc)
	return incident.ExportRef{Target: "github", ID: "1", URL: "https://github.com/acme/postmortems/issues/1"}, nil
}

func (e *recordingExporter) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.docs)
}

// Someone with no part in the incident cannot push its postmortem out of
// Slack, by the command or the Export button; the IC can.
func TestPostmortemExportRefusedOverHTTP(t *testing.T) {
	f := newChgFixture(t, incident.P1)
	renderer, err := templates.Load("")
	require.NoError(t, err)
	exp := &recordingExporter{}
	pm := postmortem.New(postmortem.Config{Split: MarkdownParts, Store: f.store, Core: f.svc, Chat: f.chat, Scheduler: f.queue,
		Exporters: []incident.Exporter{exp}, Renderer: renderer, Policy: f.svc.Policy(), Clock: f.clock})
	pm.RegisterJobs(f.queue)
	api := slack.New(f.srv.BotToken(), slack.OptionAPIURL(f.srv.URL()))
	cfg := withService(Config{Slack: api, Scheduler: f.queue, Replays: f.store, Clock: f.clock, SigningSecret: testSigningSecret, MaxBodyBytes: 64 << 10},
		f.svc, f.store, f.chat)
	cfg.Postmortems = pm
	h := New(cfg)
	r := chi.NewRouter()
	h.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	tr := &transport{chgFixture: f, h: h, base: srv.URL, driver: slackfake.NewDriver(f.srv, testSigningSecret)}

	reply := tr.command(t, tr.other.ID, tr.inc.ChannelID, "postmortem export github")
	require.Contains(t, replyText(t, reply), "You may not export the postmortem")
	require.Contains(t, replyText(t, reply), "<@"+tr.ic.ID+">")
	tr.interact(t, slackfake.BlockActions(tr.other.ID, tr.inc.ChannelID, "", &slack.BlockAction{ActionID: incident.ActionExport,
		Value: strconv.FormatInt(tr.inc.ID, 10) + ":github"}))
	require.Contains(t, tr.ephemeralTo(tr.other.ID), "You may not export the postmortem")
	tr.queue.RunAll(t)
	require.Zero(t, exp.count(), "nothing left Slack")

	reply = tr.command(t, tr.ic.ID, tr.inc.ChannelID, "postmortem export github")
	require.Contains(t, replyText(t, reply), "Exporting the INC-1 postmortem to github")
	tr.queue.RunAll(t)
	require.Equal(t, 1, exp.count())
}
