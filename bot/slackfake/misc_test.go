package slackfake_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

func TestIdentityOptions(t *testing.T) {
	t.Parallel()
	f := setup(t,
		slackfake.WithBotToken("xoxb-other"), slackfake.WithAppToken("xapp-other"),
		slackfake.WithTeam("T123", "acme"), slackfake.WithBotUser("UBOT", "commander"), slackfake.WithAppID("A123"),
		slackfake.WithTriggerTTL(time.Minute), slackfake.WithInviteLimit(1))
	resp, err := f.api.AuthTest()
	require.NoError(t, err)
	require.Equal(t, "T123", resp.TeamID)
	require.Equal(t, "UBOT", resp.UserID)
	require.Equal(t, "commander", resp.User)
	require.Equal(t, "https://acme.slack.com/", resp.URL)
	require.Equal(t, "A123", f.srv.AppID())
	u, found := f.srv.User("UBOT")
	require.True(t, found)
	require.True(t, u.IsBot)

	trigger := f.srv.NewTriggerID(0)
	f.clock.Advance(30 * time.Second)
	_, err = f.api.OpenView(trigger, modal("Declare", "declare"))
	require.NoError(t, err, "WithTriggerTTL sets the default ttl")

	_, err = f.api.InviteUsersToConversation(f.incident.ID, f.bob.ID, f.alice.ID)
	require.Equal(t, "too_many_users", slackErr(t, err))
}

func TestWaitResponsePostsForAsyncReplies(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ru := f.srv.NewResponseURL(f.incident.ID, f.alice.ID)
	go func() {
		_, _, _ = f.api.PostMessage("", slack.MsgOptionResponseURL(ru, slack.ResponseTypeEphemeral), slack.MsgOptionText("later", false))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	posts, err := f.srv.WaitResponsePosts(ctx, ru, 1)
	require.NoError(t, err)
	require.Equal(t, "later", posts[0].Text)
	require.Len(t, f.srv.AllResponsePosts(), 1)

	short, cancelShort := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancelShort()
	_, err = f.srv.WaitResponsePosts(short, ru, 2)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestViewBlockActionsTriggerPushesOntoItsStack(t *testing.T) {
	t.Parallel()
	f := setup(t)
	pushed := make(chan error, 1)
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ic, err := slack.InteractionCallbackParse(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, err = f.api.PushView(ic.TriggerID, modal("Details", "details"))
		pushed <- err
	}))
	defer bot.Close()

	opened, err := f.api.OpenView(f.srv.NewTriggerIDFor(f.alice.ID, "", 0), modal("Declare", "declare"))
	require.NoError(t, err)
	other, err := f.api.OpenView(f.srv.NewTriggerIDFor(f.bob.ID, "", 0), modal("Other", "other"))
	require.NoError(t, err)
	view, _ := f.srv.View(opened.View.ID)
	payload, err := slackfake.ViewBlockActions(f.alice.ID, view, &slack.BlockAction{ActionID: "more", BlockID: "b"})
	require.NoError(t, err)

	d := slackfake.NewDriver(f.srv, signingSecret)
	reply, err := d.Interaction(context.Background(), bot.URL, payload)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, reply.StatusCode)
	require.NoError(t, <-pushed)
	require.Empty(t, reply.ResponseURL, "actions in a modal carry no response_url")

	views := f.srv.OpenViews()
	require.Len(t, views, 3)
	require.Equal(t, opened.View.ID, views[2].RootViewID, "pushed onto the modal the action came from, not the newest one")
	require.Equal(t, opened.View.ID, views[2].PreviousViewID)
	require.NotEqual(t, other.View.ID, views[2].RootViewID)
}

func TestDuplicateExternalID(t *testing.T) {
	t.Parallel()
	f := setup(t)
	v := modal("Declare", "declare")
	v.ExternalID = "declare-alice"
	_, err := f.api.OpenView(f.srv.NewTriggerID(0), v)
	require.NoError(t, err)
	_, err = f.api.OpenView(f.srv.NewTriggerID(0), v)
	require.Equal(t, "duplicate_external_id", slackErr(t, err))

	v.Title.Text = "Renamed"
	updated, err := f.api.UpdateView(v, "declare-alice", "", "")
	require.NoError(t, err, "update by external_id")
	require.Equal(t, "Renamed", updated.View.Title.Text)
}

func TestDeleteMembersThreadAndGroupsList(t *testing.T) {
	t.Parallel()
	f := setup(t)
	_, parent, err := f.api.PostMessage(f.incident.ID, slack.MsgOptionText("timeline", false))
	require.NoError(t, err)
	_, reply, err := f.api.PostMessage(f.incident.ID, slack.MsgOptionText("10:02 paged db", false), slack.MsgOptionTS(parent))
	require.NoError(t, err)
	thread := f.srv.Thread(f.incident.ID, parent)
	require.Len(t, thread, 2)
	require.True(t, thread[1].IsReply())

	require.NoError(t, f.api.AddPin(f.incident.ID, slack.NewRefToMessage(f.incident.ID, reply)))
	_, _, err = f.api.DeleteMessage(f.incident.ID, reply)
	require.NoError(t, err)
	_, found := f.srv.Message(f.incident.ID, reply)
	require.False(t, found)
	ch, _ := f.srv.Channel(f.incident.ID)
	require.Empty(t, ch.Pins, "deleting a message unpins it")
	_, _, err = f.api.DeleteMessage(f.incident.ID, reply)
	require.Equal(t, "message_not_found", slackErr(t, err))

	for range 3 {
		u := f.srv.AddUser(slackfake.User{Name: "responder"})
		require.True(t, f.srv.AddMember(f.incident.ID, u.ID))
	}
	var members []string
	cursor := ""
	for {
		page, next, err := f.api.GetUsersInConversation(&slack.GetUsersInConversationParameters{ChannelID: f.incident.ID, Limit: 2, Cursor: cursor})
		require.NoError(t, err)
		members = append(members, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	require.Len(t, members, 5)
	require.Equal(t, f.srv.BotUserID(), members[0])

	f.srv.AddUserGroup(slackfake.UserGroup{Handle: "sre", Name: "SRE", Users: []string{f.alice.ID}})
	groups, err := f.api.GetUserGroups(slack.GetUserGroupsOptionIncludeUsers(true))
	require.NoError(t, err)
	require.Len(t, groups, 1)
	require.Equal(t, "sre", groups[0].Handle)
	require.Equal(t, []string{f.alice.ID}, groups[0].Users)
}

func TestCustomFaultsHelpers(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		switch c.Method {
		case "auth.test":
			return slackfake.RateLimited(3 * time.Second)
		case "conversations.info":
			return slackfake.SlackError("fatal_error")
		}
		return nil
	})
	_, err := f.api.AuthTest()
	var rl *slack.RateLimitedError
	require.ErrorAs(t, err, &rl)
	require.Equal(t, 3*time.Second, rl.RetryAfter)
	_, err = f.api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: f.incident.ID})
	require.Equal(t, "fatal_error", slackErr(t, err))
	require.NotEmpty(t, f.srv.BaseURL())
}

// TestUsersConversationsAndGuests: users.conversations with a user lists
// the public channels they are in and only the private ones the bot
// shares, pages, and leaves archived ones out on request; users.info says
// who is a guest as Slack does (a single-channel guest is restricted too).
func TestUsersConversationsAndGuests(t *testing.T) {
	t.Parallel()
	f := setup(t)
	guest := f.srv.AddUser(slackfake.User{Name: "guest", Guest: true})
	single := f.srv.AddUser(slackfake.User{Name: "single", SingleChannelGuest: true})
	pub := f.srv.AddChannel(slackfake.Channel{Name: "pub", Members: []string{guest.ID}})
	shared := f.srv.AddChannel(slackfake.Channel{Name: "shared", Private: true, Members: []string{f.srv.BotUserID(), guest.ID}})
	f.srv.AddChannel(slackfake.Channel{Name: "secret", Private: true, Members: []string{guest.ID}})
	f.srv.AddChannel(slackfake.Channel{Name: "old", Archived: true, Members: []string{guest.ID}})

	var ids []string
	cursor := ""
	for {
		chans, next, err := f.api.GetConversationsForUser(&slack.GetConversationsForUserParameters{UserID: guest.ID, Cursor: cursor,
			Types: []string{"public_channel", "private_channel"}, Limit: 1, ExcludeArchived: true})
		require.NoError(t, err)
		require.LessOrEqual(t, len(chans), 1)
		for _, c := range chans {
			ids = append(ids, c.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	require.ElementsMatch(t, []string{pub.ID, shared.ID}, ids, "the private channel the bot is not in stays hidden")

	_, _, err := f.api.GetConversationsForUser(&slack.GetConversationsForUserParameters{UserID: "U0NOBODY"})
	require.Equal(t, "user_not_found", slackErr(t, err))

	u, err := f.api.GetUserInfo(guest.ID)
	require.NoError(t, err)
	require.True(t, u.IsRestricted)
	require.False(t, u.IsUltraRestricted)
	u, err = f.api.GetUserInfo(single.ID)
	require.NoError(t, err)
	require.True(t, u.IsRestricted)
	require.True(t, u.IsUltraRestricted)
	u, err = f.api.GetUserInfo(f.alice.ID)
	require.NoError(t, err)
	require.False(t, u.IsRestricted)
}
