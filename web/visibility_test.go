package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/web"
)

// withLogs sends the server's log, as JSON, to logs.
func withLogs(logs *logBuffer) func(*web.Config) {
	return func(c *web.Config) { c.Logger = slog.New(slog.NewJSONHandler(logs, nil)) }
}

// answer is a response as a caller sees it, its Date aside.
type answer struct {
	status int
	header http.Header
	body   string
}

func send(t *testing.T, f *fixture, b *browser, token, path string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	require.NoError(t, err)
	client := http.DefaultClient
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if b != nil {
		client = b.client
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	h := resp.Header.Clone()
	h.Del("Date")
	return answer{status: resp.StatusCode, header: h, body: string(body)}
}

// TestHiddenIncidentAnswersAsMissingWhileSlackFails: while Slack cannot
// say which channels someone is in (a 5xx, a 429), a private incident they
// are not named in answers exactly as a number that does not exist, on
// every page and API path, status, headers and body alike, and the failure
// is logged. The incident's named people see it whatever Slack says; a
// member of its channel who is not named gets the same 404 until Slack
// answers again, as the README says.
func TestHiddenIncidentAnswersAsMissingWhileSlackFails(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	f := setup(t, withAdmin(f0Bob), withLogs(&logs))
	token := tokenOf(t, f, f.bob, "bob's", "read")
	bob := f.browser()
	bob.signIn(f.bob)
	// A number of as many digits as the private incident's, so that the
	// two messages are as long as each other.
	hidden, missing := itoa(f.private.Number), "9"
	require.Len(t, hidden, len(missing))

	// Slack fails every way it does: conversations.members too, though
	// it is not asked.
	f.slack.FailNext("users.conversations", 100, http.StatusInternalServerError)
	f.slack.FailNext("conversations.members", 100, http.StatusInternalServerError)
	for _, sub := range []string{"", "/timeline", "/follow-ups"} {
		h := send(t, f, nil, token, "/api/v1/incidents/"+hidden+sub)
		m := send(t, f, nil, token, "/api/v1/incidents/"+missing+sub)
		require.Equal(t, http.StatusNotFound, h.status, h.body)
		require.Equal(t, m.header, h.header, sub)
		require.Equal(t, strings.ReplaceAll(m.body, "INC-"+missing, "INC-"+hidden), h.body, sub)
	}
	for _, sub := range []string{"", "/timeline.csv", "/postmortem.md"} {
		h := send(t, f, bob, "", "/incidents/"+hidden+sub)
		m := send(t, f, bob, "", "/incidents/"+missing+sub)
		require.Equal(t, http.StatusNotFound, h.status, h.body)
		require.Equal(t, m.header, h.header, sub)
		require.Equal(t, strings.ReplaceAll(m.body, "INC-"+missing, "INC-"+hidden), h.body, sub)
	}
	logged := false
	for _, rec := range logs.records(t) {
		if rec["level"] == "WARN" && rec["incident"] == "INC-"+hidden && rec["user"] == f.bob.ID {
			logged = true
		}
	}
	require.True(t, logged, "the failure is logged")

	// Rate limited, the same.
	f.slack.RateLimitNext("users.conversations", 100, time.Second)
	h := send(t, f, nil, token, "/api/v1/incidents/"+hidden)
	m := send(t, f, nil, token, "/api/v1/incidents/"+missing)
	require.Equal(t, m.status, h.status)
	require.Equal(t, m.header, h.header)

	// Alice is in the channel but not named in it: while Slack cannot
	// say, she is answered as anyone else is.
	alice := f.browser()
	alice.signIn(f.alice)
	resp, _ := alice.get("/incidents/" + hidden)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	// Named in it (its commander), Bob sees it without asking Slack.
	require.NoError(t, f.store.Atomic(t.Context(), func(tx incident.Tx) error {
		_, err := tx.UpdateIncident(t.Context(), f.private.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
			i.Commander = f.bob.ID
			return nil, nil
		})
		return err
	}))
	before := len(f.slack.CallsTo("users.conversations"))
	status, body := apiCall(t, f, token, http.MethodGet, "/api/v1/incidents/"+hidden, "")
	require.Equal(t, http.StatusOK, status, body)
	require.Len(t, f.slack.CallsTo("users.conversations"), before, "a named person needs no Slack call")

	// Slack back, Alice sees it again.
	f.slack.ClearFaults()
	resp, _ = alice.get("/incidents/" + hidden)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestHiddenIncidentProbesCostOneSlackCallAMinute: asking again and again
// for a private incident one may not see asks Slack once a minute, for
// the person's channels, as the list does: never once per request, and
// never the channel's members (Tier 4) one request at a time. The list and
// the incident's page agree on who sees it.
func TestHiddenIncidentProbesCostOneSlackCallAMinute(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin(f0Bob))
	token := tokenOf(t, f, f.bob, "bob's", "read")
	hidden := "/api/v1/incidents/" + itoa(f.private.Number)
	f.slack.Reset()
	for range 20 {
		for _, sub := range []string{"", "/timeline", "/follow-ups"} {
			status, _ := apiCall(t, f, token, http.MethodGet, hidden+sub, "")
			require.Equal(t, http.StatusNotFound, status)
		}
	}
	require.Len(t, f.slack.CallsTo("users.conversations"), 1, "one read of Bob's channels for 60 requests")
	require.Empty(t, f.slack.CallsTo("conversations.members"))
	f.clock.Advance(61 * time.Second)
	status, _ := apiCall(t, f, token, http.MethodGet, hidden, "")
	require.Equal(t, http.StatusNotFound, status)
	require.Len(t, f.slack.CallsTo("users.conversations"), 2, "read again a minute later")

	// Alice, in its channel, sees it on the list and on its page; taken
	// out of the channel, within a minute she sees it on neither.
	alice := f.browser()
	alice.signIn(f.alice)
	_, list := alice.get("/incidents")
	require.Contains(t, list, "payroll data exposure")
	resp, _ := alice.get("/incidents/" + itoa(f.private.Number))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	f.slack.AddChannel(slackfake.Channel{ID: privateChannel, Name: "inc-secret", Private: true, Members: []string{f.slack.BotUserID()}})
	f.clock.Advance(61 * time.Second)
	_, list = alice.get("/incidents")
	require.NotContains(t, list, "payroll data exposure")
	resp, _ = alice.get("/incidents/" + itoa(f.private.Number))
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

type listAnswer struct {
	Incidents []struct {
		Number int64 `json:"number"`
	} `json:"incidents"`
	MembershipUnknown *bool `json:"membership_unknown"`
}

func (l listAnswer) numbers() []int64 {
	var out []int64
	for _, inc := range l.Incidents {
		out = append(out, inc.Number)
	}
	return out
}

// TestListAndMetricsWhileSlackFails: while Slack cannot say which channels
// a member of the workspace is in, the list and the metrics show the
// public incidents and the private ones they are named in, leave out the
// other private ones, and say so: a notice on the pages, membership_unknown
// in the API, a row in the CSV. They say it whatever the incidents asked
// for are, so it tells nothing of whether private ones were among them. A
// guest, who sees only what their channels show, is still answered 503.
func TestListAndMetricsWhileSlackFails(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin(f0Bob))
	ctx := context.Background()
	theirs, err := f.store.CreateIncident(ctx, &incident.Incident{Title: "bob's private incident", Severity: incident.P3,
		Status: incident.StatusInvestigating, Private: true, ChannelID: "C0BOBS", DeclaredBy: f.bob.ID, Commander: f.bob.ID,
		Service: "payroll", Roles: map[string]string{}, DeclaredAt: t0.Add(-3 * time.Hour)})
	require.NoError(t, err)
	token := tokenOf(t, f, f.bob, "bob's", "read")
	bob := f.browser()
	bob.signIn(f.bob)

	list := func(query string) listAnswer {
		t.Helper()
		status, body := apiCall(t, f, token, http.MethodGet, "/api/v1/incidents?drills=include"+query, "")
		require.Equal(t, http.StatusOK, status, body)
		var out listAnswer
		require.NoError(t, json.Unmarshal([]byte(body), &out))
		require.NotNil(t, out.MembershipUnknown, body)
		return out
	}
	metricsSay := func() bool {
		t.Helper()
		status, body := apiCall(t, f, token, http.MethodGet, "/api/v1/metrics?period=7d", "")
		require.Equal(t, http.StatusOK, status, body)
		var out struct {
			MembershipUnknown *bool `json:"membership_unknown"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &out))
		require.NotNil(t, out.MembershipUnknown, body)
		return *out.MembershipUnknown
	}

	got := list("")
	require.False(t, *got.MembershipUnknown)
	require.ElementsMatch(t, []int64{f.public.Number, f.drill.Number, theirs.Number}, got.numbers())
	require.False(t, metricsSay())
	_, page := bob.get("/incidents")
	require.NotContains(t, page, `id="membership-unknown"`)

	f.clock.Advance(2 * time.Minute) // past Bob's channels as read above
	f.slack.FailNext("users.conversations", 1000, http.StatusInternalServerError)
	got = list("")
	require.True(t, *got.MembershipUnknown)
	require.ElementsMatch(t, []int64{f.public.Number, f.drill.Number, theirs.Number}, got.numbers(),
		"the public incidents and the private one Bob is named in")
	// Only public incidents match: it is said all the same.
	got = list("&service=checkout")
	require.True(t, *got.MembershipUnknown)
	require.ElementsMatch(t, []int64{f.public.Number, f.drill.Number}, got.numbers())
	got = list("&from=2001-01-01&to=2001-01-02")
	require.True(t, *got.MembershipUnknown)
	require.Empty(t, got.numbers())
	require.True(t, metricsSay())

	resp, page := bob.get("/incidents")
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	require.Contains(t, page, `id="membership-unknown"`)
	require.Contains(t, page, "checkout is down")
	require.NotContains(t, page, "payroll data exposure")
	resp, page = bob.get("/reports/metrics?period=7d")
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	require.Contains(t, page, `id="membership-unknown"`)
	resp, csv := bob.get("/reports/metrics.csv?period=7d")
	require.Equal(t, http.StatusOK, resp.StatusCode, csv)
	require.True(t, strings.HasSuffix(csv, "visibility,private_incidents,membership_unknown,1\n"), csv)

	// A guest is refused rather than shown less than they may see.
	guest := f.slack.AddUser(slackfake.User{ID: "U0GUEST", Name: "gus", RealName: "Gus Guest", Guest: true})
	g := f.browser()
	g.signIn(guest)
	resp, page = g.get("/incidents")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, page)
	resp, page = g.get("/reports/metrics")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, page)
}
