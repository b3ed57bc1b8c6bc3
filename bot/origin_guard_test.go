package bot

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/changes"
)

// TestUnsignedSlowBodiesHoldNoPlace: clients without the signing secret,
// sending bodies slowly, do not take the places of the requests handled
// at once; a signed command and a click are still answered.
func TestUnsignedSlowBodiesHoldNoPlace(t *testing.T) {
	tr := newTransport(t)
	api := slack.New(tr.srv.BotToken(), slack.OptionAPIURL(tr.srv.URL()))
	h := New(withService(Config{Slack: api, Scheduler: tr.queue, Clock: tr.clock, SigningSecret: testSigningSecret, MaxInFlight: 4}, tr.svc, tr.store, tr.chat))
	r := chi.NewRouter()
	h.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	for range 8 { // twice the places, none signed, each body left unfinished
		c, err := net.Dial("tcp", u.Host)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		_, err = fmt.Fprintf(c, "POST /slack/commands HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\ncommand=")
		require.NoError(t, err)
	}
	time.Sleep(100 * time.Millisecond)
	d := slackfake.NewDriver(tr.srv, testSigningSecret)
	rep, err := d.SlashCommand(context.Background(), srv.URL+"/slack/commands", slack.SlashCommand{Command: "/incident", Text: "status", UserID: tr.ic.ID, ChannelID: tr.inc.ChannelID})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, rep.StatusCode)
	require.NotContains(t, string(rep.Body), msgOverloaded)
	require.Contains(t, string(rep.Body), tr.inc.Key())
	rep, err = d.Interaction(context.Background(), srv.URL+"/slack/interactions", slackfake.BlockActions(tr.ic.ID, tr.inc.ChannelID, ""))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, rep.StatusCode, string(rep.Body))
}

// TestSlowBodyIsCutOff: a body still arriving after bodyReadTimeout is
// answered 400 and its connection closed, rather than held open as long as
// the client likes.
func TestSlowBodyIsCutOff(t *testing.T) {
	tr := newTransport(t)
	u, err := url.Parse(tr.base)
	require.NoError(t, err)
	c, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	defer c.Close()
	start := time.Now()
	_, err = fmt.Fprintf(c, "POST /slack/commands HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ncommand=")
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	buf := make([]byte, 512)
	n, _ := c.Read(buf)
	require.Contains(t, string(buf[:n]), "400 Bad Request")
	require.Less(t, time.Since(start), bodyReadTimeout+5*time.Second)
}

// TestOtherOrganisationRefused: in a Slack Connect channel, a person of
// another organisation can neither run commands nor press the bot's
// buttons; people of the bot's own workspace, and of its Enterprise Grid
// organisation, can.
func TestOtherOrganisationRefused(t *testing.T) {
	tr := newTransport(t)
	ctx := context.Background()
	tr.h.SetWorkspace(slackfake.DefaultTeamID, "E0HOME")
	inc, _, err := tr.svc.Declare(ctx, incident.DeclareInput{Title: "db down", Severity: incident.P2, ServiceKey: "checkout", DeclaredBy: "bot"})
	require.NoError(t, err)
	tr.queue.Run(t, incident.JobSetup)
	inc, err = tr.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	before, err := tr.store.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)

	for _, text := range []string{"declare P1 external says hi", "resolve nothing to see", "list"} {
		r := commandFrom(t, tr, "U0EXTERNAL", inc.ChannelID, text, "T0OTHERORG", "")
		require.Contains(t, string(r.Body), msgOutsider, text)
	}
	cb := slackfake.BlockActions("U0EXTERNAL", inc.ChannelID, "", &slack.BlockAction{ActionID: ActionClaimIC, Value: strconv.FormatInt(inc.ID, 10)})
	cb.User.TeamID, cb.Team.ID = "T0OTHERORG", "T0OTHERORG"
	tr.interact(t, cb)

	got, err := tr.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Empty(t, got.Commander, "a person of another organisation took the IC role")
	require.Equal(t, inc.Status, got.Status)
	after, err := tr.store.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, after, len(before), "a person of another organisation declared an incident")
	var told bool
	for _, e := range tr.srv.Ephemerals(inc.ChannelID) {
		told = told || e.User == "U0EXTERNAL" && strings.Contains(e.Text, msgOutsider)
	}
	require.True(t, told, "the person who clicked is told why")

	// Another workspace of the same Enterprise Grid organisation is home.
	r := commandFrom(t, tr, tr.ic.ID, inc.ChannelID, "status", "T0SISTER", "E0HOME")
	require.NotContains(t, string(r.Body), msgOutsider)
	require.Contains(t, string(r.Body), inc.Key())
	cb = slackfake.BlockActions(tr.ic.ID, inc.ChannelID, "", &slack.BlockAction{ActionID: ActionClaimIC, Value: strconv.FormatInt(inc.ID, 10)})
	cb.User.TeamID = slackfake.DefaultTeamID
	tr.interact(t, cb)
	got, err = tr.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, tr.ic.ID, got.Commander)
}

// commandFrom sends a slash command as a user of the team (and Enterprise
// Grid organisation) given.
func commandFrom(t *testing.T, tr *transport, user, channel, text, team, enterprise string) *slackfake.Reply {
	t.Helper()
	r, err := tr.driver.SlashCommand(context.Background(), tr.base+"/slack/commands",
		slack.SlashCommand{Command: "/incident", Text: text, UserID: user, ChannelID: channel, TeamID: team, EnterpriseID: enterprise})
	require.NoError(t, err)
	return r
}

// slowScheduler is a database that takes 5 seconds to store a job.
type slowScheduler struct{ incident.Scheduler }

func (s slowScheduler) Schedule(ctx context.Context, j incident.Job) (bool, error) {
	select {
	case <-ctx.Done():
		return false, context.Cause(ctx)
	case <-time.After(5 * time.Second):
		return s.Scheduler.Schedule(ctx, j)
	}
}

// TestEventNotStoredInTimeIsAnsweredInTime: an Events API delivery the
// database cannot store within the acknowledgement deadline is answered
// 503 before Slack's 3 seconds, so Slack delivers it again, rather than
// answered late.
func TestEventNotStoredInTimeIsAnsweredInTime(t *testing.T) {
	tr := newTransport(t)
	api := slack.New(tr.srv.BotToken(), slack.OptionAPIURL(tr.srv.URL()))
	h := New(withService(Config{Slack: api, Scheduler: slowScheduler{tr.queue}, Clock: tr.clock, SigningSecret: testSigningSecret}, tr.svc, tr.store, tr.chat))
	r := chi.NewRouter()
	h.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	d := slackfake.NewDriver(tr.srv, testSigningSecret)
	start := time.Now()
	rep, err := d.Event(context.Background(), srv.URL+"/slack/events", map[string]any{"type": "message", "channel": tr.inc.ChannelID, "text": "hi", "ts": "1.0"}, "Ev0SLOW")
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, rep.StatusCode)
	require.Less(t, time.Since(start), 3*time.Second)
	require.Zero(t, tr.queue.Pending(JobSlackEvent))
}

// TestApproveRollbackOfClosedIncidentRefused: a rollback waiting for a
// second person is not started once its incident is closed, though its
// Approve button is still in the channel; and one approved before the
// close but not yet run is not carried out.
func TestApproveRollbackOfClosedIncidentRefused(t *testing.T) {
	twoPerson := func(p *incident.Policy) {
		p.TwoPersonRollback = map[string]map[incident.Severity]bool{incident.AnyEnvironment: {incident.P1: true}}
	}
	closeIt := func(t *testing.T, f *chgFixture) {
		_, err := f.svc.SetStatus(context.Background(), f.inc.ID, incident.StatusResolved, f.ic.ID, "fixed forward")
		require.NoError(t, err)
		_, err = f.svc.SetStatus(context.Background(), f.inc.ID, incident.StatusClosed, f.ic.ID, "")
		require.NoError(t, err)
	}
	t.Run("approve after close", func(t *testing.T) {
		f := newChgFixture(t, incident.P1, twoPerson)
		require.Nil(t, f.submit(f.ic, f.openModal(t, f.ic, f.deploy), ""))
		rb := f.rollbacks(t)[0]
		require.Equal(t, incident.RollbackAwaitingApproval, rb.Status)
		closeIt(t, f)
		f.click(f.roller, incident.ActionApproveRol, rb.Key)
		require.Contains(t, f.ephemerals(), "closed; a closed incident cannot start a rollback")
		f.queue.Run(t, changes.JobRollback) // the request for approval only
		got := f.rollbacks(t)[0]
		require.Equal(t, incident.RollbackAwaitingApproval, got.Status)
		require.Empty(t, got.ApprovedBy)
	})
	t.Run("approved, then closed before it ran", func(t *testing.T) {
		f := newChgFixture(t, incident.P1, twoPerson)
		require.Nil(t, f.submit(f.ic, f.openModal(t, f.ic, f.deploy), ""))
		rb := f.rollbacks(t)[0]
		f.click(f.roller, incident.ActionApproveRol, rb.Key)
		require.Equal(t, incident.RollbackRunning, f.rollbacks(t)[0].Status)
		closeIt(t, f)
		f.queue.Run(t, changes.JobRollback)
		got := f.rollbacks(t)[0]
		require.Equal(t, incident.RollbackFailed, got.Status)
		require.Contains(t, got.Detail, "closed before the rollback started")
	})
}

// TestOtherOrganisationRefusedOnEnterpriseGrid: on Enterprise Grid, a
// person of another organisation clicking the bot's buttons in a Slack
// Connect channel is refused, though the payload's team and enterprise are
// the bot's own: Slack sends the workspace (and organisation) the app is
// installed in there, and the clicker's own in user.team_id. People of the
// bot's organisation, whose user.team_id Slack reports as the
// organisation's id, still act.
func TestOtherOrganisationRefusedOnEnterpriseGrid(t *testing.T) {
	tr := newTransport(t)
	ctx := context.Background()
	tr.h.SetWorkspace(slackfake.DefaultTeamID, "E0HOME")
	inc, _, err := tr.svc.Declare(ctx, incident.DeclareInput{Title: "db down", Severity: incident.P2, ServiceKey: "checkout", DeclaredBy: "bot"})
	require.NoError(t, err)
	tr.queue.Run(t, incident.JobSetup)
	inc, err = tr.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)

	for _, vendor := range []string{"T0VENDOR", "E0VENDOR"} { // another organisation, on Grid or not
		cb := slackfake.BlockActions("U0VENDOR", inc.ChannelID, "", &slack.BlockAction{ActionID: ActionClaimIC, Value: strconv.FormatInt(inc.ID, 10)})
		cb.User.TeamID = vendor
		cb.Team = slack.Team{ID: slackfake.DefaultTeamID, Domain: "home", EnterpriseID: "E0HOME"}
		cb.Enterprise = slack.Enterprise{ID: "E0HOME", Name: "Home"}
		cb.IsEnterpriseInstall = false
		tr.interact(t, cb)
		got, err := tr.store.GetIncident(ctx, inc.ID)
		require.NoError(t, err)
		require.Empty(t, got.Commander, "a person of another organisation (%s) took the IC role", vendor)
	}
	var told bool
	for _, e := range tr.srv.Ephemerals(inc.ChannelID) {
		told = told || e.User == "U0VENDOR" && strings.Contains(e.Text, msgOutsider)
	}
	require.True(t, told, "the person who clicked is told why")

	// A person of the organisation: Slack reports the organisation's id as
	// their team, with or without the enterprise object.
	cb := slackfake.BlockActions(tr.ic.ID, inc.ChannelID, "", &slack.BlockAction{ActionID: ActionClaimIC, Value: strconv.FormatInt(inc.ID, 10)})
	cb.User.TeamID = "E0HOME"
	cb.Team = slack.Team{ID: slackfake.DefaultTeamID, Domain: "home"}
	tr.interact(t, cb)
	got, err := tr.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, tr.ic.ID, got.Commander)
}
