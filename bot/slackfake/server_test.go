package slackfake_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// clock is a hand-moved clock for trigger and response_url expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	srv   *slackfake.Server
	api   *slack.Client
	clock *clock
	alice slackfake.User
	bob   slackfake.User
	// incident is a public channel the bot and alice are in.
	incident slackfake.Channel
}

func setup(t *testing.T, opts ...slackfake.Option) *fixture {
	t.Helper()
	c := newClock()
	srv := slackfake.New(append([]slackfake.Option{slackfake.WithClock(c.Now)}, opts...)...)
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv, clock: c}
	f.api = slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL()))
	f.alice = srv.AddUser(slackfake.User{Name: "alice", RealName: "Alice A", Email: "alice@example.com"})
	f.bob = srv.AddUser(slackfake.User{Name: "bob", RealName: "Bob B", Email: "bob@example.com"})
	f.incident = srv.AddChannel(slackfake.Channel{Name: "inc-1", Members: []string{srv.BotUserID(), f.alice.ID}})
	return f
}

// slackErr returns Slack's error code from a slack-go error ("" for nil).
func slackErr(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return err.Error()
}

func TestURLEndsInAPISlash(t *testing.T) {
	t.Parallel()
	f := setup(t)
	require.True(t, strings.HasSuffix(f.srv.URL(), "/api/"))
	require.True(t, strings.HasPrefix(f.srv.URL(), "http://127.0.0.1:"))
}

func TestWithAddr(t *testing.T) {
	t.Parallel()
	srv := slackfake.New(slackfake.WithAddr("127.0.0.1:0"))
	defer srv.Close()
	_, err := slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())).AuthTest()
	require.NoError(t, err)
}

func TestAuth(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tests := []struct {
		name  string
		token string
		want  string
	}{
		{"bot token", f.srv.BotToken(), ""},
		{"missing token", "", "not_authed"},
		{"wrong token", "xoxb-wrong", "invalid_auth"},
		{"app token on a bot method", f.srv.AppToken(), "not_allowed_token_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := slack.New(tt.token, slack.OptionAPIURL(f.srv.URL()))
			resp, err := api.AuthTest()
			require.Equal(t, tt.want, slackErr(t, err))
			if tt.want == "" {
				require.Equal(t, f.srv.BotUserID(), resp.UserID)
				require.Equal(t, f.srv.TeamID(), resp.TeamID)
			}
		})
	}
}

func TestUnknownMethod(t *testing.T) {
	t.Parallel()
	f := setup(t)
	resp, err := http.PostForm(f.srv.URL()+"chat.teleport", url.Values{"token": {f.srv.BotToken()}})
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	calls := f.srv.CallsTo("chat.teleport")
	require.Len(t, calls, 1)
	require.Equal(t, "unknown_method", calls[0].Error)
}

func TestConversationsCreateNameRules(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tests := []struct {
		name, channel string
		want          string
	}{
		{"valid", "inc-2026-03-01_db", ""},
		{"uppercase", "Inc-1", "invalid_name_specials"},
		{"space", "inc 1", "invalid_name_specials"},
		{"dot", "inc.1", "invalid_name_specials"},
		{"too long", strings.Repeat("a", 81), "invalid_name_maxlength"},
		{"exactly 80", strings.Repeat("b", 80), ""},
		{"empty", "", "invalid_name_required"},
		{"only punctuation", "-_-", "invalid_name_punctuation"},
		{"taken", "inc-1", "name_taken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := f.api.CreateConversation(slack.CreateConversationParams{ChannelName: tt.channel})
			require.Equal(t, tt.want, slackErr(t, err))
			if tt.want == "" {
				require.Equal(t, tt.channel, ch.Name)
				require.True(t, ch.IsMember)
				got, found := f.srv.Channel(ch.ID)
				require.True(t, found)
				require.Contains(t, got.Members, f.srv.BotUserID())
			}
		})
	}
}

func TestConversationsCreatePrivateAndInfo(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ch, err := f.api.CreateConversation(slack.CreateConversationParams{ChannelName: "secret-inc", IsPrivate: true})
	require.NoError(t, err)
	require.True(t, ch.IsPrivate)

	info, err := f.api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: ch.ID})
	require.NoError(t, err)
	require.Equal(t, "secret-inc", info.Name)
	require.True(t, info.IsPrivate)

	// A private channel the bot is not in is invisible to it.
	hidden := f.srv.AddChannel(slackfake.Channel{Name: "hr", Private: true, Members: []string{f.alice.ID}})
	_, err = f.api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: hidden.ID})
	require.Equal(t, "channel_not_found", slackErr(t, err))
}

func TestConversationsInvite(t *testing.T) {
	t.Parallel()
	f := setup(t)
	outside := f.srv.AddChannel(slackfake.Channel{Name: "outside", Members: []string{f.alice.ID}})
	archived := f.srv.AddChannel(slackfake.Channel{Name: "old", Archived: true, Members: []string{f.srv.BotUserID()}})
	many := make([]string, 101)
	for i := range many {
		many[i] = f.bob.ID
	}
	tests := []struct {
		name    string
		channel string
		users   []string
		want    string
	}{
		{"already in channel", f.incident.ID, []string{f.alice.ID}, "already_in_channel"},
		{"unknown user", f.incident.ID, []string{"UNOBODY"}, "user_not_found"},
		{"self", f.incident.ID, []string{f.srv.BotUserID()}, "cant_invite_self"},
		{"bot not a member", outside.ID, []string{f.bob.ID}, "not_in_channel"},
		{"archived", archived.ID, []string{f.bob.ID}, "is_archived"},
		{"unknown channel", "CNOPE", []string{f.bob.ID}, "channel_not_found"},
		{"over the limit", f.incident.ID, many, "too_many_users"},
		{"one bad id fails all", f.incident.ID, []string{f.bob.ID, "UNOBODY"}, "user_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.api.InviteUsersToConversation(tt.channel, tt.users...)
			require.Equal(t, tt.want, slackErr(t, err))
		})
	}
	ch, _ := f.srv.Channel(f.incident.ID)
	require.NotContains(t, ch.Members, f.bob.ID, "a failed invite invites nobody")

	// force invites the valid ids and reports the others.
	_, err := f.api.ForceInviteUsersToConversation(f.incident.ID, f.bob.ID, "UNOBODY")
	require.NoError(t, err)
	ch, _ = f.srv.Channel(f.incident.ID)
	require.Contains(t, ch.Members, f.bob.ID)
}

func TestConversationsInviteReportsFailingUser(t *testing.T) {
	t.Parallel()
	f := setup(t)
	_, err := f.api.InviteUsersToConversation(f.incident.ID, f.alice.ID)
	var se slack.SlackErrorResponse
	require.ErrorAs(t, err, &se)
	require.Len(t, se.Errors, 1)
	require.NotNil(t, se.Errors[0].ConversationsInviteResponseError)
	require.Equal(t, f.alice.ID, se.Errors[0].ConversationsInviteResponseError.User)
}

func TestJoinKickArchive(t *testing.T) {
	t.Parallel()
	f := setup(t)
	pub := f.srv.AddChannel(slackfake.Channel{Name: "general-ish"})
	_, _, _, err := f.api.JoinConversation(pub.ID)
	require.NoError(t, err)
	_, _, warnings, err := f.api.JoinConversation(pub.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"already_in_channel"}, warnings)

	require.Equal(t, "cant_kick_self", slackErr(t, f.api.KickUserFromConversation(pub.ID, f.srv.BotUserID())))
	require.Equal(t, "not_in_channel", slackErr(t, f.api.KickUserFromConversation(pub.ID, f.bob.ID)))
	require.NoError(t, f.api.KickUserFromConversation(f.incident.ID, f.alice.ID))
	ch, _ := f.srv.Channel(f.incident.ID)
	require.NotContains(t, ch.Members, f.alice.ID)

	require.NoError(t, f.api.ArchiveConversation(pub.ID))
	require.Equal(t, "already_archived", slackErr(t, f.api.ArchiveConversation(pub.ID)))
	_, _, err = f.api.PostMessage(pub.ID, slack.MsgOptionText("hello", false))
	require.Equal(t, "is_archived", slackErr(t, err))
}

func TestSetTopicAndPurpose(t *testing.T) {
	t.Parallel()
	f := setup(t)
	outside := f.srv.AddChannel(slackfake.Channel{Name: "outside"})
	tests := []struct {
		name, channel, topic, want string
	}{
		{"ok", f.incident.ID, "SEV1: db down | IC @alice", ""},
		{"exactly 250", f.incident.ID, strings.Repeat("x", 250), ""},
		{"too long", f.incident.ID, strings.Repeat("x", 251), "too_long"},
		{"not a member", outside.ID, "hi", "not_in_channel"},
		{"unknown channel", "CNOPE", "hi", "channel_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.api.SetTopicOfConversation(tt.channel, tt.topic)
			require.Equal(t, tt.want, slackErr(t, err))
			_, err = f.api.SetPurposeOfConversation(tt.channel, tt.topic)
			require.Equal(t, tt.want, slackErr(t, err))
			if tt.want == "" {
				ch, _ := f.srv.Channel(tt.channel)
				require.Equal(t, tt.topic, ch.Topic)
				require.Equal(t, tt.topic, ch.Purpose)
			}
		})
	}
}

func TestConversationsListPagination(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for i := range 6 {
		f.srv.AddChannel(slackfake.Channel{Name: fmt.Sprintf("c-%d", i)})
	}
	f.srv.AddChannel(slackfake.Channel{Name: "priv", Private: true, Members: []string{f.srv.BotUserID()}})

	var names []string
	pages := 0
	cursor := ""
	for {
		chans, next, err := f.api.GetConversations(&slack.GetConversationsParameters{Cursor: cursor, Limit: 3})
		require.NoError(t, err)
		pages++
		for _, c := range chans {
			names = append(names, c.Name)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	require.Equal(t, 3, pages)
	require.Equal(t, []string{"inc-1", "c-0", "c-1", "c-2", "c-3", "c-4", "c-5"}, names)

	all, err := f.api.GetAllConversations(slack.GetConversationsOptionTypes([]string{"private_channel"}))
	require.NoError(t, err)
	require.Len(t, all, 1)
	require.Equal(t, "priv", all[0].Name)

	_, _, err = f.api.GetConversations(&slack.GetConversationsParameters{Cursor: "not-a-cursor"})
	require.Equal(t, "invalid_cursor", slackErr(t, err))
}

func TestHistoryAndRepliesPagination(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var posted []string
	for i := range 7 {
		_, ts, err := f.api.PostMessage(f.incident.ID, slack.MsgOptionText(fmt.Sprintf("msg %d", i), false))
		require.NoError(t, err)
		posted = append(posted, ts)
	}
	for i := range 5 {
		_, _, err := f.api.PostMessage(f.incident.ID, slack.MsgOptionText(fmt.Sprintf("reply %d", i), false),
			slack.MsgOptionTS(posted[0]))
		require.NoError(t, err)
	}
	for i := 1; i < len(posted); i++ {
		require.Less(t, posted[i-1], posted[i], "ts must increase even with a frozen clock")
	}

	var texts []string
	cursor := ""
	pages := 0
	for {
		resp, err := f.api.GetConversationHistory(&slack.GetConversationHistoryParameters{
			ChannelID: f.incident.ID, Limit: 3, Cursor: cursor,
		})
		require.NoError(t, err)
		pages++
		for _, m := range resp.Messages {
			texts = append(texts, m.Text)
		}
		if !resp.HasMore {
			require.Empty(t, resp.ResponseMetaData.NextCursor)
			break
		}
		cursor = resp.ResponseMetaData.NextCursor
	}
	require.Equal(t, 3, pages)
	require.Equal(t, []string{"msg 6", "msg 5", "msg 4", "msg 3", "msg 2", "msg 1", "msg 0"}, texts, "newest first, replies left out")

	// oldest/latest window, exclusive by default.
	resp, err := f.api.GetConversationHistory(&slack.GetConversationHistoryParameters{
		ChannelID: f.incident.ID, Oldest: posted[1], Latest: posted[4],
	})
	require.NoError(t, err)
	require.Len(t, resp.Messages, 2)
	require.Equal(t, "msg 3", resp.Messages[0].Text)
	resp, err = f.api.GetConversationHistory(&slack.GetConversationHistoryParameters{
		ChannelID: f.incident.ID, Oldest: posted[1], Latest: posted[4], Inclusive: true,
	})
	require.NoError(t, err)
	require.Len(t, resp.Messages, 4)

	var replies []string
	cursor = ""
	for {
		msgs, hasMore, next, err := f.api.GetConversationReplies(&slack.GetConversationRepliesParameters{
			ChannelID: f.incident.ID, Timestamp: posted[0], Limit: 2, Cursor: cursor,
		})
		require.NoError(t, err)
		require.Equal(t, "msg 0", msgs[0].Text, "the parent leads every page")
		require.Equal(t, 5, msgs[0].ReplyCount)
		for _, m := range msgs[1:] {
			replies = append(replies, m.Text)
		}
		if !hasMore {
			break
		}
		cursor = next
	}
	require.Equal(t, []string{"reply 0", "reply 1", "reply 2", "reply 3", "reply 4"}, replies)

	_, _, _, err = f.api.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: f.incident.ID, Timestamp: "1.000001"})
	require.Equal(t, "thread_not_found", slackErr(t, err))

	outside := f.srv.AddChannel(slackfake.Channel{Name: "outside"})
	_, err = f.api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: outside.ID})
	require.Equal(t, "not_in_channel", slackErr(t, err))
	_, err = f.api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: f.incident.ID, Oldest: "yesterday"})
	require.Equal(t, "invalid_ts_oldest", slackErr(t, err))
}

func TestChatPostUpdatePermalink(t *testing.T) {
	t.Parallel()
	f := setup(t)
	blocks := slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "*SEV1*", false, false), nil, nil))
	ch, ts, err := f.api.PostMessage("#inc-1", slack.MsgOptionText("SEV1 declared", false), blocks)
	require.NoError(t, err)
	require.Equal(t, f.incident.ID, ch, "channel names resolve to ids")

	m, found := f.srv.Message(f.incident.ID, ts)
	require.True(t, found)
	require.Equal(t, "SEV1 declared", m.Text)
	require.JSONEq(t, `[{"type":"section","text":{"type":"mrkdwn","text":"*SEV1*"}}]`, string(m.Blocks))
	require.Equal(t, f.srv.BotUserID(), m.User)

	_, _, _, err = f.api.UpdateMessage(f.incident.ID, ts, slack.MsgOptionText("SEV1 resolved", false))
	require.NoError(t, err)
	m, _ = f.srv.Message(f.incident.ID, ts)
	require.Equal(t, "SEV1 resolved", m.Text)
	require.Empty(t, m.Blocks, "text without blocks drops the old blocks")
	require.NotEmpty(t, m.EditedTS)

	_, _, _, err = f.api.UpdateMessage(f.incident.ID, "1.000001", slack.MsgOptionText("x", false))
	require.Equal(t, "message_not_found", slackErr(t, err))
	userMsg, _ := f.srv.AddMessage(slackfake.Message{Channel: f.incident.ID, User: f.alice.ID, Text: "I see errors"})
	_, _, _, err = f.api.UpdateMessage(f.incident.ID, userMsg.TS, slack.MsgOptionText("x", false))
	require.Equal(t, "cant_update_message", slackErr(t, err))

	link, err := f.api.GetPermalink(&slack.PermalinkParameters{Channel: f.incident.ID, Ts: ts})
	require.NoError(t, err)
	require.Equal(t, "https://"+slackfake.DefaultTeamDomain+".slack.com/archives/"+f.incident.ID+"/p"+strings.ReplaceAll(ts, ".", ""), link)
	_, err = f.api.GetPermalink(&slack.PermalinkParameters{Channel: f.incident.ID, Ts: "1.000001"})
	require.Equal(t, "message_not_found", slackErr(t, err))

	outside := f.srv.AddChannel(slackfake.Channel{Name: "outside"})
	_, _, err = f.api.PostMessage(outside.ID, slack.MsgOptionText("hi", false))
	require.Equal(t, "not_in_channel", slackErr(t, err))
	_, _, err = f.api.PostMessage(f.incident.ID)
	require.Equal(t, "no_text", slackErr(t, err))
	_, _, err = f.api.PostMessage(f.incident.ID, slack.MsgOptionBlocks())
	require.Equal(t, "no_text", slackErr(t, err))
}

func TestChatWritePublic(t *testing.T) {
	t.Parallel()
	f := setup(t, slackfake.WithChatWritePublic())
	outside := f.srv.AddChannel(slackfake.Channel{Name: "outside"})
	_, _, err := f.api.PostMessage(outside.ID, slack.MsgOptionText("hi", false))
	require.NoError(t, err)
	require.Len(t, f.srv.Messages(outside.ID), 1)
}

func TestPostEphemeral(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ts, err := f.api.PostEphemeral(f.incident.ID, f.alice.ID, slack.MsgOptionText("only you", false))
	require.NoError(t, err)
	require.NotEmpty(t, ts)
	eph := f.srv.Ephemerals(f.incident.ID)
	require.Len(t, eph, 1)
	require.Equal(t, f.alice.ID, eph[0].User)
	require.Equal(t, "only you", eph[0].Text)
	require.Empty(t, f.srv.Messages(f.incident.ID), "ephemeral messages are not in history")

	_, err = f.api.PostEphemeral(f.incident.ID, f.bob.ID, slack.MsgOptionText("x", false))
	require.Equal(t, "user_not_in_channel", slackErr(t, err))
}

func TestPinsBookmarksReactions(t *testing.T) {
	t.Parallel()
	f := setup(t, slackfake.WithBookmarkLimit(2))
	_, ts, err := f.api.PostMessage(f.incident.ID, slack.MsgOptionText("summary", false))
	require.NoError(t, err)

	require.NoError(t, f.api.AddPin(f.incident.ID, slack.NewRefToMessage(f.incident.ID, ts)))
	require.Equal(t, "already_pinned", slackErr(t, f.api.AddPin(f.incident.ID, slack.NewRefToMessage(f.incident.ID, ts))))
	require.Equal(t, "message_not_found", slackErr(t, f.api.AddPin(f.incident.ID, slack.NewRefToMessage(f.incident.ID, "1.000001"))))
	items, _, err := f.api.ListPins(f.incident.ID)
	require.NoError(t, err)
	require.Len(t, items, 1)
	require.Equal(t, "summary", items[0].Message.Text)

	b, err := f.api.AddBookmark(f.incident.ID, slack.AddBookmarkParameters{Title: "Runbook", Type: "link", Link: "https://runbooks.example.com/db"})
	require.NoError(t, err)
	require.Equal(t, "https://runbooks.example.com/db", b.Link)
	_, err = f.api.AddBookmark(f.incident.ID, slack.AddBookmarkParameters{Title: "Bad", Type: "link", Link: "ftp://x"})
	require.Equal(t, "invalid_link", slackErr(t, err))
	_, err = f.api.AddBookmark(f.incident.ID, slack.AddBookmarkParameters{Title: "Dash", Type: "link", Link: "https://grafana.example.com"})
	require.NoError(t, err)
	_, err = f.api.AddBookmark(f.incident.ID, slack.AddBookmarkParameters{Title: "Third", Type: "link", Link: "https://x.example.com"})
	require.Equal(t, "too_many_bookmarks", slackErr(t, err))
	list, err := f.api.ListBookmarks(f.incident.ID)
	require.NoError(t, err)
	require.Len(t, list, 2)

	ref := slack.NewRefToMessage(f.incident.ID, ts)
	require.NoError(t, f.api.AddReaction("eyes", ref))
	require.Equal(t, "already_reacted", slackErr(t, f.api.AddReaction("eyes", ref)))
	m, _ := f.srv.Message(f.incident.ID, ts)
	require.Equal(t, []slackfake.Reaction{{Name: "eyes", Users: []string{f.srv.BotUserID()}}}, m.Reactions)
}

func TestUsersAndGroups(t *testing.T) {
	t.Parallel()
	f := setup(t)
	u, err := f.api.GetUserByEmail("ALICE@example.com")
	require.NoError(t, err)
	require.Equal(t, f.alice.ID, u.ID)
	require.Equal(t, "alice@example.com", u.Profile.Email)
	_, err = f.api.GetUserByEmail("nobody@example.com")
	require.Equal(t, "users_not_found", slackErr(t, err))

	info, err := f.api.GetUserInfo(f.srv.BotUserID())
	require.NoError(t, err)
	require.True(t, info.IsBot)
	_, err = f.api.GetUserInfo("UNOBODY")
	require.Equal(t, "user_not_found", slackErr(t, err))

	g := f.srv.AddUserGroup(slackfake.UserGroup{Handle: "db-oncall", Name: "DB on-call", Users: []string{f.alice.ID, f.bob.ID}})
	members, err := f.api.GetUserGroupMembers(g.ID)
	require.NoError(t, err)
	require.Equal(t, []string{f.alice.ID, f.bob.ID}, members)
	_, err = f.api.GetUserGroupMembers("SNOPE")
	require.Equal(t, "no_such_subteam", slackErr(t, err))
}

func TestCallsDecodeFormAndJSON(t *testing.T) {
	t.Parallel()
	f := setup(t)
	_, _, err := f.api.PostMessage(f.incident.ID, slack.MsgOptionText("hello", false))
	require.NoError(t, err)
	trigger := f.srv.NewTriggerID(0)
	_, err = f.api.OpenView(trigger, modal("Declare", "cb-declare"))
	require.NoError(t, err)

	post := f.srv.CallsTo("chat.postMessage")
	require.Len(t, post, 1)
	require.False(t, post[0].JSON)
	require.Equal(t, f.incident.ID, post[0].Args.Get("channel"))
	require.Equal(t, "hello", post[0].Args.Get("text"))
	require.Equal(t, f.srv.BotToken(), post[0].Token)
	require.True(t, post[0].OK())

	open := f.srv.CallsTo("views.open")
	require.Len(t, open, 1)
	require.True(t, open[0].JSON)
	require.Equal(t, trigger, open[0].Args.Get("trigger_id"))
	require.Contains(t, open[0].Args.Get("view"), `"callback_id":"cb-declare"`)
	require.Equal(t, f.srv.BotToken(), open[0].Token, "JSON calls carry the token in the Authorization header")

	f.srv.Reset()
	require.Empty(t, f.srv.Calls())
	require.Len(t, f.srv.Channels(), 1, "Reset keeps state")
}

func TestConcurrentPostsKeepUniqueIncreasingTS(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := f.api.PostMessage(f.incident.ID, slack.MsgOptionText(fmt.Sprint(i), false))
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	msgs := f.srv.Messages(f.incident.ID)
	require.Len(t, msgs, 20)
	for i := 1; i < len(msgs); i++ {
		require.Less(t, msgs[i-1].TS, msgs[i].TS)
	}
	require.Len(t, f.srv.CallsTo("chat.postMessage"), 20)
}

func TestDirectMessages(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ch, _, err := f.api.PostMessage(f.alice.ID, slack.MsgOptionText("You are the incident commander", false))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(ch, "D"), ch)
	dm, found := f.srv.Channel(ch)
	require.True(t, found)
	require.True(t, dm.IM)
	require.Len(t, f.srv.Messages(ch), 1)

	opened, noOp, _, err := f.api.OpenConversation(&slack.OpenConversationParameters{Users: []string{f.alice.ID}})
	require.NoError(t, err)
	require.Equal(t, ch, opened.ID)
	require.True(t, noOp)

	_, _, err = f.api.PostMessage("", slack.MsgOptionText("nowhere", false))
	require.Equal(t, "channel_not_found", slackErr(t, err))
}
