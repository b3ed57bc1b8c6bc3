package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/web"
)

// TestAPIUpdateRetriedAfterResolveAnswersTheFirst: an update posted with
// an idempotency_key whose answer was lost, retried after the incident
// was resolved (or its status moved) meanwhile, is a retry: 200 with the
// update as first posted, nothing posted again, not a 409 telling the
// caller to reopen the incident. The same key with other words is still
// a 409, and a private incident its caller may no longer see answers 404.
func TestAPIUpdateRetriedAfterResolveAnswersTheFirst(t *testing.T) {
	t.Parallel()
	f := setup(t)
	admin := f.browser()
	admin.signIn(f.alice)
	write := createToken(t, admin, "sync", "write", "")
	inc := f.openIncident(t, "search is slow")
	path := "/api/v1/incidents/" + itoa(inc.Number)
	body := `{"known":"p99 falling","status":"mitigated","idempotency_key":"upd-1"}`
	status, first := apiCall(t, f, write, http.MethodPost, path+"/updates", body)
	require.Equal(t, http.StatusCreated, status, first)
	f.clock.Advance(3 * time.Minute)
	status, got := apiCall(t, f, write, http.MethodPatch, path, `{"status":"resolved","summary":"pool resized"}`)
	require.Equal(t, http.StatusOK, status, got)
	updates, err := f.store.ListStatusUpdates(t.Context(), inc.ID)
	require.NoError(t, err)

	status, got = apiCall(t, f, write, http.MethodPost, path+"/updates", body)
	require.Equal(t, http.StatusOK, status, got)
	var retry, orig struct {
		Update struct {
			Known    string    `json:"known"`
			Status   string    `json:"status"`
			PostedAt time.Time `json:"posted_at"`
		} `json:"update"`
		Incident struct {
			Status string `json:"status"`
		} `json:"incident"`
	}
	require.NoError(t, json.Unmarshal([]byte(got), &retry))
	require.NoError(t, json.Unmarshal([]byte(first), &orig))
	require.Equal(t, orig.Update, retry.Update, "the update as first posted")
	require.Equal(t, "resolved", retry.Incident.Status, "the incident as it stands")
	again, err := f.store.ListStatusUpdates(t.Context(), inc.ID)
	require.NoError(t, err)
	require.Len(t, again, len(updates), "nothing posted again")

	status, got = apiCall(t, f, write, http.MethodPost, path+"/updates", `{"known":"p99 flat","idempotency_key":"upd-1"}`)
	require.Equal(t, http.StatusConflict, status, got)
	require.Contains(t, got, "idempotency_key was used for a different update")

	// A new key on the resolved incident is refused as ever.
	status, got = apiCall(t, f, write, http.MethodPost, path+"/updates", `{"known":"p99 falling","idempotency_key":"upd-2"}`)
	require.Equal(t, http.StatusConflict, status, got)
	require.Contains(t, got, "Reopen it first")
}

// TestAPIUpdateRetryOfAPrivateIncidentIsForItsMembers: a retried update
// of a private incident is answered with the first only to someone who
// may still see it; taken out of its channel, its author's retry answers
// 404, as any other request of theirs about it.
func TestAPIUpdateRetryOfAPrivateIncidentIsForItsMembers(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin(f0Bob))
	ctx := t.Context()
	room := f.slack.AddChannel(slackfake.Channel{Name: "inc-keys", Private: true, Members: []string{f.slack.BotUserID(), f.alice.ID, f.bob.ID}})
	inc, err := f.store.CreateIncident(ctx, incidenttest.NewIncident(func(i *incident.Incident) {
		i.Title, i.Severity, i.Status, i.Private, i.ChannelID = "keys leaked", incident.P2, incident.StatusInvestigating, true, room.ID
		i.Commander, i.DeclaredBy, i.DeclaredAt = f.alice.ID, f.alice.ID, f.clock.Now().Add(-10*time.Minute)
	}))
	require.NoError(t, err)
	write := tokenOf(t, f, f.bob, "bob's", "write")
	path := "/api/v1/incidents/" + itoa(inc.Number) + "/updates"
	body := `{"known":"keys rotated","idempotency_key":"k-1"}`
	status, got := apiCall(t, f, write, http.MethodPost, path, body)
	require.Equal(t, http.StatusCreated, status, got)
	status, got = apiCall(t, f, write, http.MethodPost, path, body)
	require.Equal(t, http.StatusOK, status, got)

	f.slack.AddChannel(slackfake.Channel{ID: room.ID, Name: "inc-keys", Private: true, Members: []string{f.slack.BotUserID(), f.alice.ID}})
	f.clock.Advance(2 * time.Minute)
	status, got = apiCall(t, f, write, http.MethodPost, path, body)
	require.Equal(t, http.StatusNotFound, status, got)
	require.NotContains(t, got, "keys rotated")
}

// TestAPIDeclareRetriedWhileDeclaringCannotBeCheckedAnswersTheFirst: a
// declare retried under its idempotency_key gets 200 and the first
// incident even when whether its caller may declare cannot be checked now
// (Slack cannot say who is in permissions.declare's group) or they no
// longer may; someone else's declare with the same words and key is theirs
// to be refused.
func TestAPIDeclareRetriedWhileDeclaringCannotBeCheckedAnswersTheFirst(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin(f0Bob), func(c *web.Config) {
		c.Policy.Declarers = []string{f0Declarers}
		svc := incident.NewService(incident.ServiceConfig{Store: c.Reader.(*incidenttest.MemStore), Scheduler: incidenttest.NewQueue(),
			Chat: bot.NewChat(c.Slack, c.Policy, bot.WithChatClock(c.Clock)).Roles(), Policy: c.Policy, Clock: c.Clock})
		c.Incidents = svc
	})
	f.slack.AddUserGroup(slackfake.UserGroup{ID: f0Declarers, Handle: "declarers", Users: []string{f.alice.ID, f.bob.ID}})
	admin := f.browser()
	admin.signIn(f.alice)
	write := createToken(t, admin, "alertmanager", "write", "")
	body := `{"title":"search is slow","severity":"P2","service":"checkout","idempotency_key":"alert-9"}`
	status, got := apiCall(t, f, write, http.MethodPost, "/api/v1/incidents", body)
	require.Equal(t, http.StatusCreated, status, got)
	var first struct {
		Number int64 `json:"number"`
	}
	require.NoError(t, json.Unmarshal([]byte(got), &first))
	before, err := f.store.ListIncidents(t.Context(), incident.IncidentFilter{})
	require.NoError(t, err)

	f.clock.Advance(2 * time.Minute) // past the group's members as read above
	f.slack.ErrorNext("usergroups.users.list", 1000, "internal_error")
	status, got = apiCall(t, f, write, http.MethodPost, "/api/v1/incidents", body)
	require.Equal(t, http.StatusOK, status, got)
	var retry struct {
		Number int64 `json:"number"`
	}
	require.NoError(t, json.Unmarshal([]byte(got), &retry))
	require.Equal(t, first.Number, retry.Number)

	// Bob's token, with the same key, is another caller: his declare is
	// checked, and cannot be now.
	bobs := tokenOf(t, f, f.bob, "bob's", "write")
	status, got = apiCall(t, f, bobs, http.MethodPost, "/api/v1/incidents", body)
	require.Equal(t, http.StatusServiceUnavailable, status, got)

	// Alice taken out of the group: her retry is still a retry.
	f.slack.ClearFaults()
	f.slack.AddUserGroup(slackfake.UserGroup{ID: f0Declarers, Handle: "declarers", Users: []string{f.bob.ID}})
	f.clock.Advance(2 * time.Minute)
	status, got = apiCall(t, f, write, http.MethodPost, "/api/v1/incidents", body)
	require.Equal(t, http.StatusOK, status, got)
	status, got = apiCall(t, f, write, http.MethodPost, "/api/v1/incidents", `{"title":"search is slow","severity":"P2","service":"checkout","idempotency_key":"alert-10"}`)
	require.Equal(t, http.StatusForbidden, status, got)

	after, err := f.store.ListIncidents(t.Context(), incident.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, after, len(before), "nothing declared again")
}

// f0Bob is the fixture's Bob, for options given before the fixture exists.
const f0Bob = "U0BOB"

// f0Declarers is the user group of permissions.declare in
// TestAPIDeclareRetriedWhileDeclaringCannotBeCheckedAnswersTheFirst.
const f0Declarers = "S0DECLARERS"

// TestAPIDeclareRetryRunsNoHooks: a declare retried under its
// idempotency_key declares nothing, and the service's hooks (the
// firebreak_incidents_declared_total counter among them) hear of one
// declaration only.
func TestAPIDeclareRetryRunsNoHooks(t *testing.T) {
	t.Parallel()
	var declared atomic.Int32
	f := setup(t, func(c *web.Config) {
		q := incidenttest.NewQueue()
		svc := incident.NewService(incident.ServiceConfig{Store: c.Reader.(*incidenttest.MemStore), Scheduler: q,
			Chat: bot.NewChat(c.Slack, c.Policy).Roles(), Policy: c.Policy, Clock: c.Clock,
			Hooks: []incident.Hook{func(_ context.Context, ch incident.Change) error {
				if ch.Kind == incident.EventDeclared {
					declared.Add(1)
				}
				return nil
			}}})
		svc.RegisterJobs(q)
		c.Incidents = svc
	})
	admin := f.browser()
	admin.signIn(f.alice)
	write := createToken(t, admin, "alertmanager", "write", "")
	body := `{"title":"search is slow","severity":"P2","service":"checkout","idempotency_key":"alert-9"}`
	status, got := apiCall(t, f, write, http.MethodPost, "/api/v1/incidents", body)
	require.Equal(t, http.StatusCreated, status, got)
	for range 3 {
		status, got = apiCall(t, f, write, http.MethodPost, "/api/v1/incidents", body)
		require.Equal(t, http.StatusOK, status, got)
	}
	require.EqualValues(t, 1, declared.Load(), "one incident declared, one declaration heard")
}
