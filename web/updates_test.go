package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// openIncident stores an open P1 incident with its own Slack channel, last
// updated (by its declaration) 25 minutes ago and nagged twice since.
func (f *fixture) openIncident(t *testing.T, title string) *incident.Incident {
	t.Helper()
	ch := f.slack.AddChannel(slackfake.Channel{Name: "inc-" + strings.ReplaceAll(title, " ", "-"),
		Members: []string{f.slack.BotUserID(), f.alice.ID, f.bob.ID}})
	inc, err := f.store.CreateIncident(context.Background(), incidenttest.NewIncident(func(i *incident.Incident) {
		i.Title, i.Severity, i.Status, i.Service = title, incident.P1, incident.StatusInvestigating, "checkout"
		i.ChannelID, i.ChannelName = ch.ID, ch.Name
		i.Commander, i.DeclaredBy = f.alice.ID, f.alice.ID
		i.DeclaredAt, i.UpdatedAt = f.clock.Now().Add(-25*time.Minute), f.clock.Now().Add(-25*time.Minute)
		i.NagCount = 2
	}))
	require.NoError(t, err)
	return inc
}

// postedUpdate is the answer to POST /incidents/{number}/updates.
type postedUpdate struct {
	Update struct {
		Author          string     `json:"author"`
		Status          string     `json:"status"`
		Known           string     `json:"known"`
		Doing           string     `json:"doing"`
		PostedAt        time.Time  `json:"posted_at"`
		NextUpdateDueAt *time.Time `json:"next_update_due_at"`
	} `json:"update"`
	Incident struct {
		Number int64  `json:"number"`
		Status string `json:"status"`
	} `json:"incident"`
}

// apiRefusal is the API's error shape.
type apiRefusal struct {
	Error struct{ Code, Message string } `json:"error"`
}

func refusalOf(t *testing.T, body string) apiRefusal {
	t.Helper()
	var r apiRefusal
	require.NoError(t, json.Unmarshal([]byte(body), &r), body)
	return r
}

// updateMessages returns the channel's messages that carry a status update,
// with the incident's key replaced by INC-N so two incidents' can be
// compared.
func (f *fixture) updateMessages(t *testing.T, inc *incident.Incident) []slackfake.Message {
	t.Helper()
	var out []slackfake.Message
	for _, m := range f.slack.Messages(inc.ChannelID) {
		if strings.Contains(m.Text, "*Status update — "+inc.Key()+"*") {
			m.Text = strings.ReplaceAll(m.Text, inc.Key(), "INC-N")
			m.Blocks = json.RawMessage(strings.ReplaceAll(string(m.Blocks), inc.Key(), "INC-N"))
			// The metadata names the job that posted it, one of each.
			m.Channel, m.TS, m.Metadata = "", "", nil
			out = append(out, m)
		}
	}
	return out
}

// TestAPIPostUpdateResetsTheReminders: an update posted through the API
// restarts the update reminders as one typed in Slack does: the last
// update is now, the unanswered nags are forgotten, and the next reminder
// is one cadence away; and the channel gets the same message.
func TestAPIPostUpdateResetsTheReminders(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin("U0BOB"))
	ctx := context.Background()
	admin := f.browser()
	admin.signIn(f.alice)
	write := tokenOf(t, f, f.bob, "statuspage-sync", "write")
	viaAPI := f.openIncident(t, "search is slow")
	viaSlack := f.openIncident(t, "search is slower")
	// Bob is the comms lead of both: a role holder's update restarts the
	// reminders.
	for _, inc := range []*incident.Incident{viaAPI, viaSlack} {
		_, err := f.store.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
			i.Roles = map[string]string{incident.RoleComms: f.bob.ID}
			return nil, nil
		})
		require.NoError(t, err)
	}
	policy := incident.DefaultPolicy()
	every := policy.Severity(incident.P1).UpdateEvery
	require.Positive(t, every)
	due, ok := incident.NextNagAt(viaAPI, policy)
	require.True(t, ok)
	require.Equal(t, viaAPI.DeclaredAt.Add(3*every), due, "two nags unanswered: the third is due")

	f.clock.Advance(2 * time.Minute)
	now := f.clock.Now()
	text := "<!channel> p99 > 2s & rising since the 14:02 deploy"
	status, body := apiCall(t, f, write, http.MethodPost, "/api/v1/incidents/"+itoa(viaAPI.Number)+"/updates",
		`{"known":"`+strings.ReplaceAll(text, `"`, `\"`)+`"}`)
	require.Equal(t, http.StatusCreated, status, body)
	var got postedUpdate
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	require.Equal(t, f.bob.ID, got.Update.Author, "the update is the token's user's")
	require.Equal(t, text, got.Update.Known)
	require.Equal(t, "investigating", got.Update.Status)
	require.True(t, now.Equal(got.Update.PostedAt), "%s", got.Update.PostedAt)
	require.NotNil(t, got.Update.NextUpdateDueAt)
	require.True(t, now.Add(every).Equal(*got.Update.NextUpdateDueAt), "%s", got.Update.NextUpdateDueAt)
	require.Equal(t, viaAPI.Number, got.Incident.Number)

	stored, err := f.store.GetIncident(ctx, viaAPI.ID)
	require.NoError(t, err)
	require.NotNil(t, stored.LastUpdateAt)
	require.True(t, now.Equal(*stored.LastUpdateAt), "the reminder clock starts again")
	require.Zero(t, stored.NagCount, "the unanswered nags are forgotten")
	due, ok = incident.NextNagAt(stored, policy)
	require.True(t, ok)
	require.Equal(t, now.Add(every), due, "the next reminder is a cadence away")
	updates, err := f.store.ListStatusUpdates(ctx, viaAPI.ID)
	require.NoError(t, err)
	require.Len(t, updates, 1)
	require.Equal(t, f.bob.ID, updates[0].Author)
	require.Equal(t, incident.EscapeText(text), updates[0].Text, "kept as Slack keeps typed text (ADR 0056)")
	var nagAt []time.Time
	for _, j := range f.queue.Jobs() {
		if j.Kind == incident.JobNag {
			nagAt = append(nagAt, j.RunAt)
		}
	}
	require.Contains(t, nagAt, now.Add(every), "the next reminder is scheduled")

	// The same words typed in Slack (/incident update, which calls
	// PostUpdate with the words as Slack sends them: typed & < > escaped)
	// on the other incident give the same message in its channel.
	_, err = f.svc.PostUpdate(ctx, viaSlack.ID, incident.UpdateInput{Author: f.bob.ID, Known: incident.EscapeText(text)})
	require.NoError(t, err)
	require.Empty(t, f.queue.Run(t, incident.JobSync))
	apiMsgs, slackMsgs := f.updateMessages(t, viaAPI), f.updateMessages(t, viaSlack)
	require.Len(t, apiMsgs, 1, "the update is said once in the incident's channel")
	require.Equal(t, slackMsgs, apiMsgs, "posted as a Slack-typed update is")
	require.Contains(t, apiMsgs[0].Text, "&lt;!channel&gt; p99 &gt; 2s &amp; rising", "user text is escaped, notifying nobody")
}

// TestAPIPostUpdateByABystanderKeepsTheReminders: an update posted through
// the API by someone who leads nothing in the incident is posted, at the
// time it is posted, but the reminders keep escalating, as in Slack.
func TestAPIPostUpdateByABystanderKeepsTheReminders(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin("U0BOB"))
	ctx := context.Background()
	write := tokenOf(t, f, f.bob, "statuspage-sync", "write")
	inc := f.openIncident(t, "search is slow")
	last := f.clock.Now().Add(-12 * time.Minute) // the IC's last update
	inc, err := f.store.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		i.LastUpdateAt, i.NagCount = &last, 1
		return nil, nil
	})
	require.NoError(t, err)
	policy := incident.DefaultPolicy()
	due, ok := incident.NextNagAt(inc, policy)
	require.True(t, ok)

	f.clock.Advance(2 * time.Minute)
	now := f.clock.Now()
	status, body := apiCall(t, f, write, http.MethodPost, "/api/v1/incidents/"+itoa(inc.Number)+"/updates", `{"known":"still slow"}`)
	require.Equal(t, http.StatusCreated, status, body)
	var got postedUpdate
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	require.True(t, now.Equal(got.Update.PostedAt), "posted now, not at the last update: %s", got.Update.PostedAt)
	require.NotNil(t, got.Update.NextUpdateDueAt)
	require.True(t, due.Equal(*got.Update.NextUpdateDueAt), "the next reminder is where it was: %s", got.Update.NextUpdateDueAt)

	stored, err := f.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.True(t, last.Equal(*stored.LastUpdateAt))
	require.Equal(t, 1, stored.NagCount, "the unanswered nag still counts")
	updates, err := f.store.ListStatusUpdates(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, updates, 1, "the update is stored")
}

// TestAPIPostUpdateWithStatusAndPromise: the update may promise the next
// one sooner than the cadence, and move the incident to mitigated, as the
// update form does; while mitigated the policy pauses the reminders, and
// the answer says none is due.
func TestAPIPostUpdateWithStatusAndPromise(t *testing.T) {
	t.Parallel()
	f := setup(t)
	admin := f.browser()
	admin.signIn(f.alice)
	write := createToken(t, admin, "statuspage-sync", "write", "")
	inc := f.openIncident(t, "search is slow")
	path := "/api/v1/incidents/INC-" + itoa(inc.Number) + "/updates"

	status, body := apiCall(t, f, write, http.MethodPost, path, `{"doing":"rolling back the 14:02 deploy","next_update_minutes":5}`)
	require.Equal(t, http.StatusCreated, status, body)
	var got postedUpdate
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	require.Equal(t, "investigating", got.Update.Status)
	require.Equal(t, "rolling back the 14:02 deploy", got.Update.Doing)
	require.Empty(t, got.Update.Known)
	require.NotNil(t, got.Update.NextUpdateDueAt)
	require.True(t, f.clock.Now().Add(5*time.Minute).Equal(*got.Update.NextUpdateDueAt), "%s", got.Update.NextUpdateDueAt)
	stored, err := f.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	due, ok := incident.NextNagAt(stored, incident.DefaultPolicy())
	require.True(t, ok)
	require.Equal(t, f.clock.Now().Add(5*time.Minute), due, "the promise moves the next reminder")

	f.clock.Advance(4 * time.Minute)
	status, body = apiCall(t, f, write, http.MethodPost, path,
		`{"known":"error rate back to normal","doing":"watching for an hour","status":"mitigated"}`)
	require.Equal(t, http.StatusCreated, status, body)
	got = postedUpdate{}
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	require.Equal(t, "mitigated", got.Update.Status)
	require.Equal(t, "mitigated", got.Incident.Status)
	require.Nil(t, got.Update.NextUpdateDueAt, "reminders pause while mitigated")
	stored, err = f.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.StatusMitigated, stored.Status)
	require.NotNil(t, stored.MitigatedAt)
	require.True(t, f.clock.Now().Equal(*stored.LastUpdateAt))
}

// TestAPIPostUpdateRefusals: a read token, an unknown or hidden incident,
// text the domain would refuse, a closed incident and an oversized body are
// each refused in the API's error shape, and none of them posts anything
// or moves the reminders.
func TestAPIPostUpdateRefusals(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin("U0BOB"))
	ctx := context.Background()
	admin := f.browser()
	admin.signIn(f.alice)
	read := createToken(t, admin, "dashboards", "read", "")
	write := tokenOf(t, f, f.bob, "statuspage-sync", "write")
	inc := f.openIncident(t, "search is slow")
	closed, err := f.store.CreateIncident(ctx, incidenttest.NewIncident(func(i *incident.Incident) {
		i.Title, i.Severity, i.Status, i.DeclaredAt = "old outage", incident.P2, incident.StatusClosed, t0.Add(-72*time.Hour)
		res, cl := t0.Add(-70*time.Hour), t0.Add(-48*time.Hour)
		i.ResolvedAt, i.ClosedAt = &res, &cl
	}))
	require.NoError(t, err)
	path := func(n int64) string { return "/api/v1/incidents/" + itoa(n) + "/updates" }

	status, body := apiCall(t, f, read, http.MethodPost, path(inc.Number), `{"known":"rolled back"}`)
	require.Equal(t, http.StatusForbidden, status, body)
	require.Equal(t, "insufficient_scope", refusalOf(t, body).Error.Code)
	require.Contains(t, refusalOf(t, body).Error.Message, "this call needs write")

	for _, n := range []string{"999", itoa(f.private.Number), "abc"} {
		status, body = apiCall(t, f, write, http.MethodPost, "/api/v1/incidents/"+n+"/updates", `{"known":"rolled back"}`)
		require.Equal(t, http.StatusNotFound, status, "%s: %s", n, body)
		require.Equal(t, incident.ENOTFOUND, refusalOf(t, body).Error.Code, n)
		require.NotContains(t, body, "payroll", "a hidden incident answers as a missing one")
	}

	for _, tc := range []struct{ body, want string }{
		{`{"known":"rolled back\u0000"}`, `The field "known" holds a NUL character`},
		{`{"known":"rolled back","doing":"paging \u0007 the DBA"}`, `The field "doing" holds a control character (U+0007)`},
		{`{"known":"   ","doing":""}`, `Send "known" (what we know) or "doing" (what we are doing)`},
		{`{}`, `Send "known" (what we know) or "doing" (what we are doing)`},
		{`{"known":"` + strings.Repeat("k", 2801) + `"}`, `The field "known" is 2801 characters long; keep the update within 2800.`},
		{`{"known":"` + strings.Repeat("k", 2000) + `","doing":"` + strings.Repeat("d", 801) + `"}`, `The fields "known" and "doing" are 2801 characters long together; keep the update within 2800.`},
		{`{"known":"rolled back","status":"resolved"}`, `The field "status" must be investigating or mitigated`},
		{`{"known":"rolled back","next_update_minutes":0}`, `The field "next_update_minutes" must be a whole number of minutes from 1 to 1440`},
		{`{"known":"rolled back","next_update_minutes":1441}`, `The field "next_update_minutes" must be a whole number of minutes from 1 to 1440`},
		{`{"known":"rolled back","next_update_minutes":"soon"}`, `The field "next_update_minutes" has the wrong type`},
		{`{"known":42}`, `The field "known" has the wrong type`},
		{`{"text":"rolled back"}`, `Unknown field "text"`},
		{`{"known":"rolled back","idempotency_key":"` + strings.Repeat("k", 201) + `"}`, `idempotency_key is 201 characters long; keep it within 200.`},
		{`{"known":"rolled back","idempotency_key":"k\u0000"}`, `The field "idempotency_key" holds a NUL character`},
	} {
		status, body = apiCall(t, f, write, http.MethodPost, path(inc.Number), tc.body)
		require.Equal(t, http.StatusBadRequest, status, "%.80s: %s", tc.body, body)
		require.Equal(t, incident.EINVALID, refusalOf(t, body).Error.Code)
		require.Contains(t, refusalOf(t, body).Error.Message, tc.want, "%.80s", tc.body)
	}

	// A closed incident takes no update, in the service's own words.
	_, want := f.svc.PostUpdate(ctx, closed.ID, incident.UpdateInput{Author: f.bob.ID, Known: "rolled back"})
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(want))
	status, body = apiCall(t, f, write, http.MethodPost, path(closed.Number), `{"known":"rolled back"}`)
	require.Equal(t, http.StatusConflict, status, body)
	require.Equal(t, incident.ECONFLICT, refusalOf(t, body).Error.Code)
	require.Equal(t, incident.ErrorMessage(want), refusalOf(t, body).Error.Message)
	require.Contains(t, refusalOf(t, body).Error.Message, closed.Key()+" is closed")
	// So does a resolved one.
	_, want = f.svc.PostUpdate(ctx, f.public.ID, incident.UpdateInput{Author: f.bob.ID, Known: "rolled back"})
	status, body = apiCall(t, f, write, http.MethodPost, path(f.public.Number), `{"known":"rolled back"}`)
	require.Equal(t, http.StatusConflict, status, body)
	require.Equal(t, incident.ErrorMessage(want), refusalOf(t, body).Error.Message)
	require.Contains(t, refusalOf(t, body).Error.Message, "updates are for open incidents")

	// A body past the limit is refused whole, not cut and read as JSON.
	huge := `{"known":"rolled back","doing":"` + strings.Repeat("d", 70<<10) + `"}`
	status, body = apiCall(t, f, write, http.MethodPost, path(inc.Number), huge)
	require.Equal(t, http.StatusRequestEntityTooLarge, status, body)
	require.Equal(t, incident.EINVALID, refusalOf(t, body).Error.Code)
	require.Contains(t, refusalOf(t, body).Error.Message, "The body is larger than 64 KiB")

	stored, err := f.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Nil(t, stored.LastUpdateAt, "no refusal moved the reminders")
	require.Equal(t, 2, stored.NagCount)
	for _, id := range []int64{inc.ID, closed.ID, f.public.ID} {
		updates, err := f.store.ListStatusUpdates(ctx, id)
		require.NoError(t, err)
		require.Empty(t, updates, "nothing was posted")
	}
	require.Empty(t, f.queue.Run(t, incident.JobSync))
	require.Empty(t, f.updateMessages(t, inc), "nothing was said in the channel")
}

// TestAPIPostUpdateIdempotencyKey: a caller that retries an update it sent
// (its answer lost) with the same idempotency key gets 200 and the first
// update; the channel hears it once, one update is stored, and the
// reminder clock is the first one's. Keys are per token: another token's
// same key is its own update.
func TestAPIPostUpdateIdempotencyKey(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	admin := f.browser()
	admin.signIn(f.alice)
	write := createToken(t, admin, "statuspage-sync", "write", f.alice.ID)
	other := createToken(t, admin, "runbook-bot", "write", f.alice.ID)
	inc := f.openIncident(t, "search is slow")
	path := "/api/v1/incidents/" + itoa(inc.Number) + "/updates"
	req := `{"known":"p99 falling after the rollback","status":"mitigated","idempotency_key":"upd-7f3a"}`

	f.clock.Advance(2 * time.Minute)
	first := f.clock.Now()
	status, body := apiCall(t, f, write, http.MethodPost, path, req)
	require.Equal(t, http.StatusCreated, status, body)
	var got postedUpdate
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	require.Equal(t, "mitigated", got.Update.Status)

	f.clock.Advance(time.Minute)
	for range 2 {
		status, body = apiCall(t, f, write, http.MethodPost, path, req)
		require.Equal(t, http.StatusOK, status, "a retry: %s", body)
		var again postedUpdate
		require.NoError(t, json.Unmarshal([]byte(body), &again))
		require.True(t, first.Equal(again.Update.PostedAt), "the first update's time: %s", again.Update.PostedAt)
		require.Equal(t, "mitigated", again.Update.Status)
		require.Equal(t, f.alice.ID, again.Update.Author)
		require.Equal(t, "p99 falling after the rollback", again.Update.Known)
		require.Equal(t, "mitigated", again.Incident.Status)
	}
	stored, err := f.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.True(t, first.Equal(*stored.LastUpdateAt), "the reminder clock is the first update's")
	updates, err := f.store.ListStatusUpdates(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, updates, 1, "one update stored")
	require.Empty(t, f.queue.Run(t, incident.JobSync))
	require.Len(t, f.updateMessages(t, inc), 1, "the channel hears it once")

	status, body = apiCall(t, f, write, http.MethodPost, path, `{"known":"p99 back to normal","idempotency_key":"upd-7f3a"}`)
	require.Equal(t, http.StatusConflict, status, "the key of another update: %s", body)
	require.Contains(t, refusalOf(t, body).Error.Message, "That idempotency_key was used for a different update")

	status, body = apiCall(t, f, other, http.MethodPost, path, `{"known":"p99 falling after the rollback","idempotency_key":"upd-7f3a"}`)
	require.Equal(t, http.StatusCreated, status, "another token's key is its own: %s", body)
	updates, err = f.store.ListStatusUpdates(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, updates, 2)
}
