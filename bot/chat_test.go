package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// chatNow is the fixed time of every chat test.
var chatNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// chatFixture is a Chat wired to a fake Slack through a real slack.Client.
type chatFixture struct {
	srv   *slackfake.Server
	chat  *bot.Chat
	alice slackfake.User
	bob   slackfake.User
	carol slackfake.User
}

type chatFixtureConfig struct {
	policy   incident.Policy
	opts     []bot.ChatOption
	fakeOpts []slackfake.Option
	client   *http.Client
}

func newChatFixture(t *testing.T, configure ...func(*chatFixtureConfig)) *chatFixture {
	t.Helper()
	cfg := chatFixtureConfig{policy: incident.DefaultPolicy()}
	for _, c := range configure {
		c(&cfg)
	}
	srv := slackfake.New(append([]slackfake.Option{slackfake.WithClock(func() time.Time { return chatNow })}, cfg.fakeOpts...)...)
	t.Cleanup(srv.Close)
	front := httptest.NewServer(withDirectMessages(srv))
	t.Cleanup(front.Close)

	apiOpts := []slack.Option{slack.OptionAPIURL(front.URL + "/api/")}
	if cfg.client != nil {
		apiOpts = append(apiOpts, slack.OptionHTTPClient(cfg.client))
	}
	api := slack.New(srv.BotToken(), apiOpts...)
	opts := append([]bot.ChatOption{bot.WithChatClock(incident.ClockFunc(func() time.Time { return chatNow }))}, cfg.opts...)
	return &chatFixture{
		srv:   srv,
		chat:  bot.NewChat(api, cfg.policy, opts...),
		alice: srv.AddUser(slackfake.User{Name: "alice", Email: "alice@example.com"}),
		bob:   srv.AddUser(slackfake.User{Name: "bob", Email: "bob@example.com"}),
		carol: srv.AddUser(slackfake.User{Name: "carol", Email: "Carol@Example.com"}),
	}
}

// withDirectMessages serves conversations.open in front of the fake for as
// long as the fake has no handler of its own: it opens a private channel
// "D<user>" holding the bot and the user, which chat.postMessage accepts.
func withDirectMessages(srv *slackfake.Server) http.Handler {
	h := srv.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/conversations.open" {
			h.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if !strings.Contains(rec.Body.String(), "unknown_method") {
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		form, _ := url.ParseQuery(string(body))
		user := form.Get("users")
		ch := srv.AddChannel(slackfake.Channel{ID: "D" + user, Private: true, Members: []string{srv.BotUserID(), user}})
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": map[string]any{"id": ch.ID}})
	})
}

func (f *chatFixture) botChannel(t *testing.T, name string, members ...string) slackfake.Channel {
	t.Helper()
	return f.srv.AddChannel(slackfake.Channel{Name: name, Creator: f.srv.BotUserID(),
		Members: append([]string{f.srv.BotUserID()}, members...)})
}

func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, incident.ErrorCode(err), "error: %v", err)
}

func TestChatCreateChannel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		channel  string
		private  bool
		fault    func(*slackfake.Server)
		wantCode string
		check    func(t *testing.T, err error)
	}{
		{name: "public", channel: "inc-20260301-checkout"},
		{name: "private", channel: "inc-20260301-secret", private: true},
		{name: "name taken", channel: "taken", wantCode: incident.ECONFLICT},
		{name: "invalid name", channel: "Inc Upper", wantCode: incident.EINVALID, check: func(t *testing.T, err error) {
			require.Contains(t, incident.ErrorMessage(err), "create the channel #Inc Upper")
		}},
		{name: "restricted", channel: "inc-x", fault: func(s *slackfake.Server) { s.ErrorNext("conversations.create", 1, "restricted_action") },
			wantCode: incident.EFORBIDDEN},
		{name: "missing scope", channel: "inc-x", fault: func(s *slackfake.Server) { s.ErrorNext("conversations.create", 1, "missing_scope") },
			wantCode: incident.EFORBIDDEN},
		{name: "server error", channel: "inc-x", fault: func(s *slackfake.Server) { s.FailNext("conversations.create", 1, 503) },
			wantCode: incident.EUNAVAILABLE, check: func(t *testing.T, err error) {
				var sc slack.StatusCodeError
				require.ErrorAs(t, err, &sc)
				require.Equal(t, 503, sc.Code)
			}},
		{name: "rate limited", channel: "inc-x", fault: func(s *slackfake.Server) { s.RateLimitNext("conversations.create", 1, 7*time.Second) },
			wantCode: incident.EUNAVAILABLE, check: func(t *testing.T, err error) {
				var rl *slack.RateLimitedError
				require.ErrorAs(t, err, &rl)
				require.Equal(t, 7*time.Second, rl.RetryAfter)
				var ra interface{ RetryAfter() time.Duration }
				require.ErrorAs(t, err, &ra, "the job engine snoozes on RetryAfter()")
				require.Equal(t, 7*time.Second, ra.RetryAfter())
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newChatFixture(t)
			f.srv.AddChannel(slackfake.Channel{Name: "taken", Creator: f.alice.ID, Members: []string{f.alice.ID}})
			if tt.fault != nil {
				tt.fault(f.srv)
			}
			id, err := f.chat.CreateChannel(context.Background(), tt.channel, tt.private)
			if tt.wantCode != "" {
				requireCode(t, err, tt.wantCode)
				require.Empty(t, id)
				if tt.check != nil {
					tt.check(t, err)
				}
				return
			}
			require.NoError(t, err)
			ch, ok := f.srv.Channel(id)
			require.True(t, ok)
			require.Equal(t, tt.channel, ch.Name)
			require.Equal(t, tt.private, ch.Private)
			require.Contains(t, ch.Members, f.srv.BotUserID())
			calls := f.srv.CallsTo("conversations.create")
			require.Len(t, calls, 1)
			require.Equal(t, fmt.Sprint(tt.private), calls[0].Args.Get("is_private"))
		})
	}
}

func TestChatFindChannel(t *testing.T) {
	t.Parallel()
	f := newChatFixture(t)
	ctx := context.Background()
	// More channels the bot is in than one users.conversations page, so
	// the lookup pages; the many it is not in are not read.
	for i := range 1100 {
		f.srv.AddChannel(slackfake.Channel{Name: fmt.Sprintf("general-%04d", i), Creator: f.alice.ID,
			Members: []string{f.alice.ID, f.srv.BotUserID()}})
	}
	for i := range 3000 {
		f.srv.AddChannel(slackfake.Channel{Name: fmt.Sprintf("team-%04d", i), Creator: f.alice.ID})
	}
	mine := f.botChannel(t, "inc-mine")
	private := f.srv.AddChannel(slackfake.Channel{Name: "inc-private", Private: true, Creator: f.srv.BotUserID(),
		Members: []string{f.srv.BotUserID()}})
	f.srv.AddChannel(slackfake.Channel{Name: "inc-theirs", Creator: f.alice.ID, Members: []string{f.alice.ID, f.srv.BotUserID()}})
	f.srv.AddChannel(slackfake.Channel{Name: "inc-archived", Archived: true, Creator: f.srv.BotUserID(), Members: []string{f.srv.BotUserID()}})

	id, err := f.chat.FindChannel(ctx, "inc-mine", false)
	require.NoError(t, err)
	require.Equal(t, mine.ID, id)
	require.Empty(t, f.srv.CallsTo("conversations.list"), "the workspace's channels are not read")
	list := f.srv.CallsTo("users.conversations")
	require.Len(t, list, 2, "the channel is on the second page")
	for _, c := range list {
		require.Equal(t, "999", c.Args.Get("limit"))
		require.Equal(t, "public_channel", c.Args.Get("types"))
		require.Equal(t, "true", c.Args.Get("exclude_archived"))
		require.Empty(t, c.Args.Get("user"), "the bot's own channels")
	}
	require.NotEmpty(t, list[1].Args.Get("cursor"))

	id, err = f.chat.FindChannel(ctx, "inc-private", true)
	require.NoError(t, err)
	require.Equal(t, private.ID, id)

	for _, tc := range []struct {
		name    string
		private bool
	}{{"inc-theirs", false}, {"inc-archived", false}, {"inc-nowhere", false}, {"inc-private", false}, {"inc-mine", true}} {
		_, err := f.chat.FindChannel(ctx, tc.name, tc.private)
		requireCode(t, err, incident.ENOTFOUND)
	}
	require.Len(t, f.srv.CallsTo("auth.test"), 1, "the bot's id is fetched once")
}

func TestChatBotUserIDOption(t *testing.T) {
	t.Parallel()
	f := newChatFixture(t, func(c *chatFixtureConfig) {
		c.opts = append(c.opts, bot.WithBotUserID(slackfake.DefaultBotUserID))
	})
	f.botChannel(t, "inc-mine")
	_, err := f.chat.FindChannel(context.Background(), "inc-mine", false)
	require.NoError(t, err)
	require.Empty(t, f.srv.CallsTo("auth.test"))
}

func TestChatSetTopic(t *testing.T) {
	t.Parallel()
	topic := func(title, ic string, drill bool) incident.Notice {
		return incident.Notice{Kind: incident.NoticeTopic, Incident: "INC-42", User: ic,
			Values: map[string]string{"severity": "P1", "status": "Investigating", "title": title, "drill": fmt.Sprint(drill)}}
	}
	const head = "INC-42 P1 | Investigating | no IC yet | " // 40 characters
	tests := []struct {
		name  string
		topic incident.Notice
		want  string
	}{
		{name: "short", topic: topic("checkout is down", "", false), want: head + "checkout is down"},
		{name: "with IC, drill", topic: topic("game day", "U0JANE", true), want: "DRILL | INC-42 P1 | Investigating | IC <@U0JANE> | game day"},
		{name: "title shown literally", topic: topic("<!channel> p99 > 2s", "", false), want: head + "&lt;!channel&gt; p99 &gt; 2s"},
		{name: "exactly 250", topic: topic(strings.Repeat("a", 210), "", false), want: head + strings.Repeat("a", 210)},
		{name: "too long", topic: topic(strings.Repeat("a", 400), "", false), want: head + strings.Repeat("a", 209) + "…"},
		{name: "multi-byte", topic: topic(strings.Repeat("🚨", 300), "", false), want: head + strings.Repeat("🚨", 209) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newChatFixture(t)
			ch := f.botChannel(t, "inc-topic")
			require.NoError(t, f.chat.SetTopic(context.Background(), ch.ID, tt.topic))
			got, _ := f.srv.Channel(ch.ID)
			require.Equal(t, tt.want, got.Topic)
			require.LessOrEqual(t, utf8.RuneCountInString(got.Topic), slackfake.MaxTopic)
		})
	}

	t.Run("not in channel", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		ch := f.srv.AddChannel(slackfake.Channel{Name: "elsewhere", Members: []string{f.alice.ID}})
		err := f.chat.SetTopic(context.Background(), ch.ID, incident.Notice{Kind: incident.NoticeTopic, Incident: "INC-1", Values: map[string]string{"title": "x"}})
		requireCode(t, err, incident.EFORBIDDEN)
		require.Contains(t, incident.ErrorMessage(err), "set the channel topic")
		var se slack.SlackErrorResponse
		require.ErrorAs(t, err, &se)
		require.Equal(t, "not_in_channel", se.Err)
	})
}

func TestChatAddBookmark(t *testing.T) {
	t.Parallel()
	f := newChatFixture(t)
	ctx := context.Background()
	ch := f.botChannel(t, "inc-bookmarks")

	require.NoError(t, f.chat.AddBookmark(ctx, ch.ID, "Runbook: Checkout", "https://runbooks.example.com/checkout"))
	require.NoError(t, f.chat.AddBookmark(ctx, ch.ID, "Runbook: Checkout", "https://runbooks.example.com/checkout"), "a retry adds nothing")
	require.NoError(t, f.chat.AddBookmark(ctx, ch.ID, "Dashboard", "https://grafana.example.com/d/1"))
	got, _ := f.srv.Channel(ch.ID)
	require.Len(t, got.Bookmarks, 2)
	require.Equal(t, "link", got.Bookmarks[0].Type)
	require.Equal(t, "https://runbooks.example.com/checkout", got.Bookmarks[0].Link)

	requireCode(t, f.chat.AddBookmark(ctx, ch.ID, "Bad", "ftp://example.com"), incident.EINVALID)
	requireCode(t, f.chat.AddBookmark(ctx, "C0NOPE", "x", "https://example.com"), incident.ENOTFOUND)
}

func TestChatResolveUsers(t *testing.T) {
	t.Parallel()
	f := newChatFixture(t)
	sre := f.srv.AddUserGroup(slackfake.UserGroup{Handle: "sre", Users: []string{f.bob.ID, f.carol.ID, f.srv.BotUserID()}})
	empty := f.srv.AddUserGroup(slackfake.UserGroup{Handle: "nobody"})
	f.srv.AddUser(slackfake.User{Name: "gone", Email: "gone@example.com", Deleted: true})

	refs := []string{
		f.alice.ID,
		"<@" + f.bob.ID + "|bob>",
		"carol@example.com", // Slack matches e-mails without regard to case
		"nobody@example.com",
		"gone@example.com",
		sre.ID,
		"<!subteam^" + sre.ID + "|@sre>",
		empty.ID,
		"S0MISSING",
		f.srv.BotUserID(),
		"not a reference",
		f.alice.ID,
		"  " + f.alice.ID + "  ",
		"<mailto:bob@example.com|bob@example.com>",
		"",
	}
	ids, missing, err := f.chat.ResolveUsers(context.Background(), refs)
	require.NoError(t, err)
	require.Equal(t, []string{f.alice.ID, f.bob.ID, f.carol.ID}, ids)
	require.Equal(t, []string{"nobody@example.com", "gone@example.com", empty.ID, "S0MISSING", "not a reference"}, missing)
	require.Len(t, f.srv.CallsTo("usergroups.users.list"), 3, "the same group is looked up once")
	require.Len(t, f.srv.CallsTo("users.lookupByEmail"), 4)

	t.Run("lookup failure", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		f.srv.FailNext("users.lookupByEmail", 1, 503)
		_, _, err := f.chat.ResolveUsers(context.Background(), []string{f.alice.ID, "alice@example.com"})
		requireCode(t, err, incident.EUNAVAILABLE)
	})

	t.Run("nothing to resolve", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		ids, missing, err := f.chat.ResolveUsers(context.Background(), nil)
		require.NoError(t, err)
		require.Empty(t, ids)
		require.Empty(t, missing)
	})
}

// inFlight counts concurrent requests to one API method.
type inFlight struct {
	method string
	base   http.RoundTripper
	mu     sync.Mutex
	now    int
	peak   int
}

func (c *inFlight) RoundTrip(r *http.Request) (*http.Response, error) {
	counted := strings.HasSuffix(r.URL.Path, "/"+c.method)
	if counted {
		c.mu.Lock()
		c.now++
		c.peak = max(c.peak, c.now)
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			c.now--
			c.mu.Unlock()
		}()
	}
	return c.base.RoundTrip(r)
}

func TestChatResolveUsersBoundsConcurrency(t *testing.T) {
	t.Parallel()
	counter := &inFlight{method: "users.lookupByEmail", base: http.DefaultTransport}
	f := newChatFixture(t, func(c *chatFixtureConfig) {
		c.client = &http.Client{Transport: counter}
		c.opts = append(c.opts, bot.WithLookupConcurrency(2))
	})
	f.srv.SetLatency("users.lookupByEmail", 5*time.Millisecond)
	var refs []string
	for i := range 8 {
		refs = append(refs, f.srv.AddUser(slackfake.User{Name: fmt.Sprint("u", i), Email: fmt.Sprintf("u%d@example.com", i)}).Email)
	}
	ids, missing, err := f.chat.ResolveUsers(context.Background(), refs)
	require.NoError(t, err)
	require.Len(t, ids, 8)
	require.Empty(t, missing)
	require.LessOrEqual(t, counter.peak, 2)
	require.GreaterOrEqual(t, counter.peak, 1)
}

func TestChatInvite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("batches of 100", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		ch := f.botChannel(t, "inc-big")
		var ids []string
		for i := range 250 {
			ids = append(ids, f.srv.AddUser(slackfake.User{Name: fmt.Sprint("user", i)}).ID)
		}
		require.NoError(t, f.chat.Invite(ctx, ch.ID, append(ids, ids[0], f.srv.BotUserID())))
		calls := f.srv.CallsTo("conversations.invite")
		require.Len(t, calls, 3)
		for _, c := range calls {
			require.True(t, c.OK(), "error %s", c.Error)
			require.LessOrEqual(t, len(strings.Split(c.Args.Get("users"), ",")), 100)
		}
		got, _ := f.srv.Channel(ch.ID)
		require.Len(t, got.Members, 251)
		require.Subset(t, got.Members, ids)
	})

	t.Run("already in channel", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		ch := f.botChannel(t, "inc-members", f.alice.ID, f.bob.ID)
		require.NoError(t, f.chat.Invite(ctx, ch.ID, []string{f.alice.ID, f.bob.ID}))
		require.Equal(t, "already_in_channel", f.srv.CallsTo("conversations.invite")[0].Error, "Slack did refuse the call")

		require.NoError(t, f.chat.Invite(ctx, ch.ID, []string{f.alice.ID, f.carol.ID}))
		got, _ := f.srv.Channel(ch.ID)
		require.ElementsMatch(t, []string{f.srv.BotUserID(), f.alice.ID, f.bob.ID, f.carol.ID}, got.Members)
	})

	t.Run("unknown user is skipped, logged and returned", func(t *testing.T) {
		t.Parallel()
		var logs bytes.Buffer
		f := newChatFixture(t, func(c *chatFixtureConfig) {
			c.opts = append(c.opts, bot.WithChatLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		})
		ch := f.botChannel(t, "inc-unknown")
		nobody := []incident.InviteRefusal{{User: "U0NOBODY", Code: "user_not_found"}}
		refused, err := incident.InviteRefusals(f.chat.Invite(ctx, ch.ID, []string{"U0NOBODY"}))
		require.NoError(t, err)
		require.Equal(t, nobody, refused)
		require.Contains(t, logs.String(), "user=U0NOBODY reason=user_not_found")
		refused, err = incident.InviteRefusals(f.chat.Invite(ctx, ch.ID, []string{"U0NOBODY", f.alice.ID}))
		require.NoError(t, err)
		require.Equal(t, nobody, refused)
		got, _ := f.srv.Channel(ch.ID)
		require.ElementsMatch(t, []string{f.srv.BotUserID(), f.alice.ID}, got.Members)
	})

	t.Run("error without per-user details", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		ch := f.botChannel(t, "inc-details", f.alice.ID)
		// A Slack that fails a mixed batch with a bare already_in_channel:
		// the Chat asks user by user.
		f.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
			if c.Method == "conversations.invite" && strings.Contains(c.Args.Get("users"), ",") {
				return slackfake.SlackError("already_in_channel")
			}
			return nil
		})
		require.NoError(t, f.chat.Invite(ctx, ch.ID, []string{f.alice.ID, f.bob.ID, f.carol.ID}))
		require.Len(t, f.srv.CallsTo("conversations.invite"), 4)
		got, _ := f.srv.Channel(ch.ID)
		require.ElementsMatch(t, []string{f.srv.BotUserID(), f.alice.ID, f.bob.ID, f.carol.ID}, got.Members)
	})

	t.Run("empty is a no-op", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		ch := f.botChannel(t, "inc-empty")
		require.NoError(t, f.chat.Invite(ctx, ch.ID, nil))
		require.NoError(t, f.chat.Invite(ctx, ch.ID, []string{"", " "}))
		require.Empty(t, f.srv.CallsTo("conversations.invite"))
	})

	t.Run("channel problems are errors", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		notMine := f.srv.AddChannel(slackfake.Channel{Name: "not-mine", Members: []string{f.alice.ID}})
		requireCode(t, f.chat.Invite(ctx, notMine.ID, []string{f.bob.ID}), incident.EFORBIDDEN)
		requireCode(t, f.chat.Invite(ctx, "C0NOPE", []string{f.bob.ID}), incident.ENOTFOUND)
	})
}

func testIncident(channelID string) *incident.Incident {
	return &incident.Incident{
		ID: 7, Number: 42, Title: "Checkout is down", Severity: incident.P1, Status: incident.StatusInvestigating,
		Commander: "U0ALICE", Roles: map[string]string{incident.RoleComms: "U0BOB"}, ChannelID: channelID,
		DeclaredAt: chatNow.Add(-12 * time.Minute),
	}
}

func blocksOf(t *testing.T, raw json.RawMessage) []map[string]any {
	t.Helper()
	var out []map[string]any
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

// blockTexts joins every "text" string in a blocks JSON, decoded, so tests
// can look for "<#C1>" without caring about JSON's HTML escaping.
func blockTexts(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(raw, &v))
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "text" {
					b.WriteString(s + "\n")
					continue
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return b.String()
}

func TestChatPanel(t *testing.T) {
	t.Parallel()
	f := newChatFixture(t)
	ctx := context.Background()
	ch := f.botChannel(t, "inc-42")
	inc := testIncident(ch.ID)

	ts, err := f.chat.PostPanel(ctx, inc)
	require.NoError(t, err)
	msg, ok := f.srv.Message(ch.ID, ts)
	require.True(t, ok)
	require.Contains(t, msg.Text, "INC-42")
	require.Contains(t, string(msg.Blocks), `"action_id":"resolve"`)
	require.Contains(t, blockTexts(t, msg.Blocks), "Investigating")

	require.NoError(t, f.chat.Pin(ctx, ch.ID, ts))
	require.NoError(t, f.chat.Pin(ctx, ch.ID, ts), "pinning twice is fine")
	got, _ := f.srv.Channel(ch.ID)
	require.Equal(t, []string{ts}, got.Pins)
	require.Equal(t, "already_pinned", f.srv.CallsTo("pins.add")[1].Error)

	inc.PanelTS = ts
	inc.Status = incident.StatusMitigated
	require.NoError(t, f.chat.UpdatePanel(ctx, inc))
	msg, _ = f.srv.Message(ch.ID, ts)
	require.NotEmpty(t, msg.EditedTS)
	require.Contains(t, blockTexts(t, msg.Blocks), "Mitigated")
	require.Len(t, blocksOf(t, msg.Blocks), len(bot.PanelBlocks(inc, incident.DefaultPolicy())))

	requireCode(t, f.chat.UpdatePanel(ctx, testIncident(ch.ID)), incident.ENOTFOUND)
	missing := testIncident(ch.ID)
	missing.PanelTS = "1.000001"
	requireCode(t, f.chat.UpdatePanel(ctx, missing), incident.ENOTFOUND)
	requireCode(t, f.chat.Pin(ctx, ch.ID, "1.000001"), incident.ENOTFOUND)

	elsewhere := f.srv.AddChannel(slackfake.Channel{Name: "elsewhere"})
	_, err = f.chat.PostPanel(ctx, testIncident(elsewhere.ID))
	requireCode(t, err, incident.EFORBIDDEN)
	_, err = f.chat.PostPanel(ctx, testIncident(""))
	requireCode(t, err, incident.EINVALID)
}

func TestChatAnnounce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	for _, channel := range []string{"#incidents", "incidents"} {
		t.Run(channel, func(t *testing.T) {
			t.Parallel()
			f := newChatFixture(t)
			broadcast := f.botChannel(t, "incidents")
			f.botChannel(t, "incidents-archive")
			inc := testIncident("C0INC42")

			chID, ts, err := f.chat.Announce(ctx, channel, inc)
			require.NoError(t, err)
			require.Equal(t, broadcast.ID, chID)
			msg, ok := f.srv.Message(broadcast.ID, ts)
			require.True(t, ok)
			require.Contains(t, blockTexts(t, msg.Blocks), "<#C0INC42>")

			// A second incident reuses the resolved id.
			second := testIncident("C0INC43")
			second.Number = 43
			_, _, err = f.chat.Announce(ctx, channel, second)
			require.NoError(t, err)
			require.Len(t, f.srv.CallsTo("users.conversations"), 1, "found among the bot's channels, once")
			require.Empty(t, f.srv.CallsTo("conversations.list"))

			inc.Status = incident.StatusResolved
			resolvedAt := chatNow
			inc.ResolvedAt = &resolvedAt
			require.NoError(t, f.chat.UpdateAnnouncement(ctx, chID, ts, inc))
			msg, _ = f.srv.Message(broadcast.ID, ts)
			require.Contains(t, blockTexts(t, msg.Blocks), "Resolved after 12m00s")
		})
	}

	t.Run("a replaced channel is looked up again", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		old := f.botChannel(t, "incidents")
		_, _, err := f.chat.Announce(ctx, "#incidents", testIncident("C0INC42"))
		require.NoError(t, err)

		old.Archived, old.Name = true, "incidents-old"
		f.srv.AddChannel(old)
		_, _, err = f.chat.Announce(ctx, "#incidents", testIncident("C0INC42"))
		requireCode(t, err, incident.ECONFLICT)

		replacement := f.botChannel(t, "incidents")
		chID, _, err := f.chat.Announce(ctx, "#incidents", testIncident("C0INC42"))
		require.NoError(t, err)
		require.Equal(t, replacement.ID, chID)
		require.Len(t, f.srv.CallsTo("users.conversations"), 2)
	})

	t.Run("by id", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		broadcast := f.botChannel(t, "incidents")
		chID, _, err := f.chat.Announce(ctx, broadcast.ID, testIncident("C0INC42"))
		require.NoError(t, err)
		require.Equal(t, broadcast.ID, chID)
		require.Empty(t, f.srv.CallsTo("conversations.list"))
	})

	t.Run("no channel", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		_, _, err := f.chat.Announce(ctx, "#", testIncident("C0INC42"))
		requireCode(t, err, incident.EINVALID)
		require.Empty(t, f.srv.Calls())
	})

	t.Run("unknown channel", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		_, _, err := f.chat.Announce(ctx, "#nowhere", testIncident("C0INC42"))
		requireCode(t, err, incident.ENOTFOUND)
		require.Contains(t, incident.ErrorMessage(err), "#nowhere")
	})

	t.Run("bot not in channel", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		f.srv.AddChannel(slackfake.Channel{Name: "incidents", Members: []string{f.alice.ID}})
		_, _, err := f.chat.Announce(ctx, "#incidents", testIncident("C0INC42"))
		requireCode(t, err, incident.EFORBIDDEN)
		require.Contains(t, incident.ErrorMessage(err), "announce INC-42 in #incidents")
	})
}

func TestChatPost(t *testing.T) {
	t.Parallel()
	f := newChatFixture(t)
	ch := f.botChannel(t, "inc-post")
	ts, err := f.chat.Post(context.Background(), ch.ID, "*INC-42* is now <@U0ALICE>'s")
	require.NoError(t, err)
	msg, ok := f.srv.Message(ch.ID, ts)
	require.True(t, ok)
	require.Equal(t, "*INC-42* is now <@U0ALICE>'s", msg.Text)

	_, err = f.chat.Post(context.Background(), "C0NOPE", "x")
	requireCode(t, err, incident.ENOTFOUND)
}

func TestChatReply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("response url", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		ch := f.botChannel(t, "general", f.alice.ID)
		u := f.srv.NewResponseURL(ch.ID, f.alice.ID)
		require.NoError(t, f.chat.Reply(ctx, incident.ReplyTarget{ResponseURL: u, ChannelID: ch.ID, UserID: f.alice.ID}, "INC-42 is open"))
		posts := f.srv.ResponsePosts(u)
		require.Len(t, posts, 1)
		require.Empty(t, posts[0].Error)
		require.Equal(t, "ephemeral", posts[0].ResponseType)
		require.Equal(t, "INC-42 is open", posts[0].Text)
		require.Empty(t, f.srv.CallsTo("chat.postEphemeral"))
	})

	t.Run("expired response url falls back to ephemeral", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		ch := f.botChannel(t, "general", f.alice.ID)
		expired := f.srv.BaseURL() + "/response/T0FAKE001gone"
		require.NoError(t, f.chat.Reply(ctx, incident.ReplyTarget{ResponseURL: expired, ChannelID: ch.ID, UserID: f.alice.ID}, "late"))
		eph := f.srv.Ephemerals(ch.ID)
		require.Len(t, eph, 1)
		require.Equal(t, "late", eph[0].Text)
		require.Equal(t, f.alice.ID, eph[0].User)
	})

	t.Run("expired response url and nobody else", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		err := f.chat.Reply(ctx, incident.ReplyTarget{ResponseURL: f.srv.BaseURL() + "/response/T0FAKE001gone"}, "late")
		require.Error(t, err)
		require.Contains(t, incident.ErrorMessage(err), "HTTP 404")
	})

	t.Run("unreachable response url stays out of the error", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		dead := httptest.NewServer(http.NotFoundHandler())
		secret := dead.URL + "/commands/T0FAKE001/secret-token"
		dead.Close()
		err := f.chat.Reply(ctx, incident.ReplyTarget{ResponseURL: secret}, "late")
		requireCode(t, err, incident.EUNAVAILABLE)
		require.NotContains(t, err.Error(), "secret-token")
	})

	t.Run("ephemeral", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		ch := f.botChannel(t, "general", f.alice.ID)
		require.NoError(t, f.chat.Reply(ctx, incident.ReplyTarget{ChannelID: ch.ID, UserID: f.alice.ID}, "only you"))
		eph := f.srv.Ephemerals(ch.ID)
		require.Len(t, eph, 1)
		require.Equal(t, "chat.postEphemeral", eph[0].Via)
		require.Empty(t, f.srv.Messages(ch.ID))
	})

	dm := func(t *testing.T, f *chatFixture, user, text string) {
		t.Helper()
		posts := f.srv.CallsTo("chat.postMessage")
		require.Len(t, posts, 1)
		dmID := posts[0].Args.Get("channel")
		open := f.srv.CallsTo("conversations.open")
		require.Len(t, open, 1)
		require.Equal(t, user, open[0].Args.Get("users"))
		msgs := f.srv.Messages(dmID)
		require.Len(t, msgs, 1)
		require.Equal(t, text, msgs[0].Text)
	}

	for _, tc := range []struct {
		name  string
		setup func(f *chatFixture) string // returns the channel to reply in
	}{
		{"bot not in channel", func(f *chatFixture) string {
			return f.srv.AddChannel(slackfake.Channel{Name: "quiet", Members: []string{f.alice.ID}}).ID
		}},
		{"user not in channel", func(f *chatFixture) string {
			return f.srv.AddChannel(slackfake.Channel{Name: "botonly", Members: []string{f.srv.BotUserID()}}).ID
		}},
		{"channel not found", func(f *chatFixture) string { return "C0GONE" }},
	} {
		t.Run("dm when "+tc.name, func(t *testing.T) {
			t.Parallel()
			f := newChatFixture(t)
			ch := tc.setup(f)
			require.NoError(t, f.chat.Reply(ctx, incident.ReplyTarget{ChannelID: ch, UserID: f.alice.ID}, "psst"))
			dm(t, f, f.alice.ID, "psst")
		})
	}

	t.Run("dm when only a user", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		require.NoError(t, f.chat.Reply(ctx, incident.ReplyTarget{UserID: f.bob.ID}, "setup failed"))
		dm(t, f, f.bob.ID, "setup failed")
		require.Empty(t, f.srv.CallsTo("chat.postEphemeral"))
	})

	t.Run("channel only", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		ch := f.botChannel(t, "inc-42")
		require.NoError(t, f.chat.Reply(ctx, incident.ReplyTarget{ChannelID: ch.ID}, "setup failed"))
		msgs := f.srv.Messages(ch.ID)
		require.Len(t, msgs, 1)
		require.Equal(t, "setup failed", msgs[0].Text)
	})

	t.Run("nobody", func(t *testing.T) {
		t.Parallel()
		f := newChatFixture(t)
		requireCode(t, f.chat.Reply(ctx, incident.ReplyTarget{}, "hello?"), incident.EINVALID)
	})
}

func TestChatTransportErrorIsUnavailable(t *testing.T) {
	t.Parallel()
	f := newChatFixture(t)
	ch := f.botChannel(t, "inc-down")
	f.srv.FailNext("", 1, http.StatusBadGateway)
	_, err := f.chat.Post(context.Background(), ch.ID, "hello")
	requireCode(t, err, incident.EUNAVAILABLE)
	require.Contains(t, incident.ErrorMessage(err), "post a message")
	require.True(t, errors.As(err, new(slack.StatusCodeError)))
}
