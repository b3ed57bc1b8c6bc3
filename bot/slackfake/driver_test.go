package slackfake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

const signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// miniBot is a hand-written stand-in for the real transport: it verifies signatures
// with slack-go and answers the way an incident bot would.
type miniBot struct {
	api *slack.Client

	mu      sync.Mutex
	events  []string // event_id
	retries []string // X-Slack-Retry-Num
}

func (b *miniBot) verified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return nil, false
	}
	sv, err := slack.NewSecretsVerifier(r.Header, signingSecret)
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, true
}

func (b *miniBot) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slash", b.slash)
	mux.HandleFunc("POST /interact", b.interact)
	mux.HandleFunc("POST /events", b.event)
	return mux
}

func (b *miniBot) slash(w http.ResponseWriter, r *http.Request) {
	if _, ok := b.verified(w, r); !ok {
		return
	}
	cmd, err := slack.SlashCommandParse(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	title := slack.NewInputBlock("title", slack.NewTextBlockObject("plain_text", "Title", false, false), nil,
		slack.NewPlainTextInputBlockElement(nil, "value"))
	v := modal("Declare", "declare", title, section("Severity is set later"))
	v.PrivateMetadata = cmd.ChannelID
	if _, err := b.api.OpenViewContext(r.Context(), cmd.TriggerID, v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if _, _, err := b.api.PostMessageContext(r.Context(), "", slack.MsgOptionResponseURL(cmd.ResponseURL, slack.ResponseTypeInChannel),
		slack.MsgOptionText(cmd.UserName+" is declaring: "+cmd.Text, false)); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"response_type":"ephemeral","text":"Opening the form"}`))
}

func (b *miniBot) interact(w http.ResponseWriter, r *http.Request) {
	if _, ok := b.verified(w, r); !ok {
		return
	}
	ic, err := slack.InteractionCallbackParse(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch ic.Type {
	case slack.InteractionTypeBlockActions:
		action := ic.ActionCallback.BlockActions[0]
		_, _, err := b.api.PostMessageContext(r.Context(), "", slack.MsgOptionResponseURL(ic.ResponseURL, slack.ResponseTypeInChannel),
			slack.MsgOptionReplaceOriginal(ic.ResponseURL), slack.MsgOptionText("acknowledged by "+ic.User.Name+" via "+action.ActionID, false))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	case slack.InteractionTypeViewSubmission:
		title := ic.View.State.Values["title"]["value"].Value
		switch title {
		case "":
			_ = json.NewEncoder(w).Encode(slack.NewErrorsViewSubmissionResponse(map[string]string{"title": "Required"}))
		case "bad-key":
			_ = json.NewEncoder(w).Encode(slack.NewErrorsViewSubmissionResponse(map[string]string{"severity": "Pick one"}))
		}
	}
}

func (b *miniBot) event(w http.ResponseWriter, r *http.Request) {
	body, ok := b.verified(w, r)
	if !ok {
		return
	}
	ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch ev.Type {
	case slackevents.URLVerification:
		var ch slackevents.ChallengeResponse
		_ = json.Unmarshal(body, &ch)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(ch.Challenge))
	case slackevents.CallbackEvent:
		cb := ev.Data.(*slackevents.EventsAPICallbackEvent)
		b.mu.Lock()
		b.events = append(b.events, cb.EventID)
		b.retries = append(b.retries, r.Header.Get("X-Slack-Retry-Num"))
		b.mu.Unlock()
	}
}

type driverFixture struct {
	*fixture
	bot    *miniBot
	botURL string
	driver *slackfake.Driver
}

func setupDriver(t *testing.T) *driverFixture {
	t.Helper()
	f := setup(t)
	b := &miniBot{api: f.api}
	ts := httptest.NewServer(b.routes())
	t.Cleanup(ts.Close)
	return &driverFixture{fixture: f, bot: b, botURL: ts.URL, driver: slackfake.NewDriver(f.srv, signingSecret)}
}

func TestSignatureMatchesSlackGoVerifier(t *testing.T) {
	t.Parallel()
	body := []byte("token=x&command=%2Fincident")
	h := http.Header{}
	d := slackfake.NewDriver(nil, signingSecret)
	d.Sign(h, body)
	sv, err := slack.NewSecretsVerifier(h, signingSecret)
	require.NoError(t, err)
	_, _ = sv.Write(body)
	require.NoError(t, sv.Ensure())

	sv, err = slack.NewSecretsVerifier(h, "another-secret")
	require.NoError(t, err)
	_, _ = sv.Write(body)
	require.ErrorIs(t, sv.Ensure(), slack.ErrInvalidSignature)
}

func TestForgedRequestsAreRejected(t *testing.T) {
	t.Parallel()
	d := setupDriver(t)
	tests := []struct {
		name string
		opts []slackfake.RequestOption
		want int
	}{
		{"genuine", nil, http.StatusOK},
		{"wrong secret", []slackfake.RequestOption{slackfake.WrongSecret()}, http.StatusUnauthorized},
		{"stale timestamp", []slackfake.RequestOption{slackfake.StaleTimestamp()}, http.StatusUnauthorized},
		{"tampered body", []slackfake.RequestOption{slackfake.TamperBody()}, http.StatusUnauthorized},
		{"unsigned", []slackfake.RequestOption{slackfake.Unsigned()}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply, err := d.driver.Event(context.Background(), d.botURL+"/events",
				map[string]any{"type": "reaction_added", "user": d.alice.ID, "reaction": "eyes"}, "", tt.opts...)
			require.NoError(t, err)
			require.Equal(t, tt.want, reply.StatusCode, string(reply.Body))
			reply, err = d.driver.SlashCommand(context.Background(), d.botURL+"/slash",
				slack.SlashCommand{Command: "/incident", Text: "db down", UserID: d.alice.ID, ChannelID: d.incident.ID}, tt.opts...)
			require.NoError(t, err)
			require.Equal(t, tt.want, reply.StatusCode, string(reply.Body))
		})
	}
}

func TestSlashCommandOpensModalAndUsesResponseURL(t *testing.T) {
	t.Parallel()
	d := setupDriver(t)
	reply, err := d.driver.SlashCommand(context.Background(), d.botURL+"/slash",
		slack.SlashCommand{Command: "/incident", Text: "db down", UserID: d.alice.ID, ChannelID: d.incident.ID})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, reply.StatusCode, string(reply.Body))
	var body map[string]string
	require.NoError(t, reply.JSON(&body))
	require.Equal(t, "Opening the form", body["text"])

	open := d.srv.CallsTo("views.open")
	require.Len(t, open, 1)
	require.True(t, open[0].OK(), string(open[0].Response))
	require.Equal(t, reply.TriggerID, open[0].Args.Get("trigger_id"))
	views := d.srv.OpenViews()
	require.Len(t, views, 1)
	require.Equal(t, d.alice.ID, views[0].UserID)
	require.Equal(t, d.incident.ID, views[0].PrivateMetadata)

	posts := d.srv.ResponsePostsForTrigger(reply.TriggerID)
	require.Len(t, posts, 1)
	require.Equal(t, reply.ResponseURL, posts[0].URL)
	require.Equal(t, "in_channel", posts[0].ResponseType)
	require.Equal(t, "alice is declaring: db down", posts[0].Text)
	msgs := d.srv.Messages(d.incident.ID)
	require.Len(t, msgs, 1, "an in_channel response shows in the channel")
	require.Equal(t, "alice is declaring: db down", msgs[0].Text)

	// A second delivery of the same trigger cannot open a second modal.
	_, err = d.api.OpenView(reply.TriggerID, modal("Again", "again"))
	require.Equal(t, "exchanged_trigger_id", slackErr(t, err))
}

func TestResponseURLUsesAndExpiry(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ru := f.srv.NewResponseURL(f.incident.ID, f.alice.ID)
	post := func(text string) error {
		_, _, err := f.api.PostMessage("", slack.MsgOptionResponseURL(ru, slack.ResponseTypeEphemeral), slack.MsgOptionText(text, false))
		return err
	}
	for range slackfake.ResponseURLMaxUses {
		require.NoError(t, post("update"))
	}
	err := post("one too many")
	var sce slack.StatusCodeError
	require.ErrorAs(t, err, &sce)
	require.Equal(t, http.StatusNotFound, sce.Code)
	posts := f.srv.ResponsePosts(ru)
	require.Len(t, posts, 6)
	require.Equal(t, "used_url", posts[5].Error)
	require.Len(t, f.srv.Ephemerals(f.incident.ID), 5, "ephemeral responses go to the user only")

	fresh := f.srv.NewResponseURL(f.incident.ID, f.alice.ID)
	f.clock.Advance(slackfake.ResponseURLLifetime + time.Second)
	_, _, err = f.api.PostMessage("", slack.MsgOptionResponseURL(fresh, slack.ResponseTypeEphemeral), slack.MsgOptionText("late", false))
	require.ErrorAs(t, err, &sce)
	require.Equal(t, "expired_url", f.srv.ResponsePosts(fresh)[0].Error)

	// Slack wants JSON on a response_url; a form post is refused.
	other := f.srv.NewResponseURL(f.incident.ID, f.alice.ID)
	resp, err := http.PostForm(other, map[string][]string{"text": {"hi"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "invalid_payload", f.srv.ResponsePosts(other)[0].Error)
}

func TestBlockActionsReplaceOriginal(t *testing.T) {
	t.Parallel()
	d := setupDriver(t)
	_, ts, err := d.api.PostMessage(d.incident.ID, slack.MsgOptionText("Page for db?", false))
	require.NoError(t, err)

	reply, err := d.driver.Interaction(context.Background(), d.botURL+"/interact",
		slackfake.BlockActions(d.alice.ID, d.incident.ID, ts, &slack.BlockAction{ActionID: "ack", BlockID: "page", Value: "db"}))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, reply.StatusCode, string(reply.Body))
	require.NotEmpty(t, reply.ResponseURL)

	m, found := d.srv.Message(d.incident.ID, ts)
	require.True(t, found)
	require.Equal(t, "acknowledged by alice via ack", m.Text, "replace_original rewrote the clicked message")
	require.Len(t, d.srv.Messages(d.incident.ID), 1)
}

func TestViewSubmissionAcksApplyToViews(t *testing.T) {
	t.Parallel()
	d := setupDriver(t)
	reply, err := d.driver.SlashCommand(context.Background(), d.botURL+"/slash",
		slack.SlashCommand{Command: "/incident", UserID: d.alice.ID, ChannelID: d.incident.ID})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, reply.StatusCode)
	view := d.srv.OpenViews()[0]

	submit := func(title string) *slackfake.Reply {
		t.Helper()
		payload, err := slackfake.ViewSubmission(d.alice.ID, view, map[string]map[string]slack.BlockAction{
			"title": {"value": {Type: "plain_text_input", Value: title}},
		})
		require.NoError(t, err)
		reply, err := d.driver.Interaction(context.Background(), d.botURL+"/interact", payload)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, reply.StatusCode)
		return reply
	}

	reply = submit("")
	require.Empty(t, reply.ViewAckProblem)
	v, _ := d.srv.View(view.ID)
	require.True(t, v.Open)
	require.Equal(t, map[string]string{"title": "Required"}, v.Errors)

	reply = submit("bad-key")
	require.Contains(t, reply.ViewAckProblem, "severity", "errors must name input blocks")
	v, _ = d.srv.View(view.ID)
	require.Equal(t, []string{"severity"}, v.ErrorKeysNotInput)

	submit("Database down")
	v, _ = d.srv.View(view.ID)
	require.False(t, v.Open, "an empty ack closes the view")
}

func TestEventsAndURLVerification(t *testing.T) {
	t.Parallel()
	d := setupDriver(t)
	reply, err := d.driver.URLVerification(context.Background(), d.botURL+"/events", "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, reply.StatusCode)
	require.Equal(t, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", string(reply.Body))

	inner := map[string]any{"type": "message", "channel": d.incident.ID, "user": d.alice.ID, "text": "seeing 500s", "ts": "1700000000.000100"}
	_, err = d.driver.Event(context.Background(), d.botURL+"/events", inner, "Ev0001")
	require.NoError(t, err)
	_, err = d.driver.Event(context.Background(), d.botURL+"/events", inner, "Ev0001", slackfake.Retry(1, "http_timeout"))
	require.NoError(t, err)
	d.bot.mu.Lock()
	defer d.bot.mu.Unlock()
	require.Equal(t, []string{"Ev0001", "Ev0001"}, d.bot.events)
	require.Equal(t, []string{"", "1"}, d.bot.retries)
}
