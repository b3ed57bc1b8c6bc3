package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"
)

// slackMethods maps each slack-go Client method the product calls to the
// Web API method it sends.
var slackMethods = map[string]string{
	"AddBookmarkContext":                    "bookmarks.add",
	"AddPinContext":                         "pins.add",
	"AuthTestContext":                       "auth.test",
	"CreateConversationContext":             "conversations.create",
	"ForceInviteUsersToConversationContext": "conversations.invite",
	"GetConversationHistoryContext":         "conversations.history",
	"GetConversationRepliesContext":         "conversations.replies",
	"GetConversationsContext":               "conversations.list",
	"GetConversationInfoContext":            "conversations.info",
	"GetConversationsForUserContext":        "users.conversations",
	"GetUsersPaginated":                     "users.list",
	"GetOpenIDConnectUserInfoContext":       "openid.connect.userInfo",
	"GetUserByEmailContext":                 "users.lookupByEmail",
	"GetUserGroupMembersContext":            "usergroups.users.list",
	"GetUserInfoContext":                    "users.info",
	"GetUsersInConversationContext":         "conversations.members",
	"ListBookmarksContext":                  "bookmarks.list",
	"OpenConversationContext":               "conversations.open",
	"OpenViewContext":                       "views.open",
	"PushViewContext":                       "views.push",
	"UpdateViewContext":                     "views.update",
	"PostEphemeralContext":                  "chat.postEphemeral",
	"PostMessageContext":                    "chat.postMessage",
	"SetTopicOfConversationContext":         "conversations.setTopic",
	"UpdateMessageContext":                  "chat.update",
	"GetPermalinkContext":                   "chat.getPermalink",
	"AddReactionContext":                    "reactions.add",
	"JoinConversationContext":               "conversations.join",
}

// methodScopes are the bot-token scopes each Web API method needs, from
// Slack's method reference, for public and private incident channels alike.
var methodScopes = map[string][]string{
	"auth.test":              nil,
	"bookmarks.add":          {"bookmarks:write"},
	"bookmarks.list":         {"bookmarks:read"},
	"pins.add":               {"pins:write"},
	"conversations.create":   {"channels:manage", "groups:write"},
	"conversations.invite":   {"channels:manage", "groups:write"},
	"conversations.history":  {"channels:history", "groups:history", "im:history"}, // a retried DM looks for its earlier copy
	"conversations.replies":  {"channels:history", "groups:history", "im:history"},
	"conversations.list":     {"channels:read", "groups:read"},
	"conversations.info":     {"channels:read", "groups:read"},
	"conversations.members":  {"channels:read", "groups:read"},
	"conversations.open":     {"im:write"},
	"conversations.setTopic": {"channels:manage", "groups:write"},
	"conversations.join":     {"channels:join"},
	"users.lookupByEmail":    {"users:read", "users:read.email"},
	"users.info":             {"users:read"},
	"users.conversations":    {"channels:read", "groups:read"}, // public and private channels only
	"users.list":             {"users:read"},
	"usergroups.users.list":  {"usergroups:read"},
	"views.open":             nil,
	"views.push":             nil,
	"views.update":           nil,
	"chat.postEphemeral":     {"chat:write"},
	"chat.update":            {"chat:write"},
	"chat.getPermalink":      nil,
	"reactions.add":          {"reactions:write"},
	// The bot posts announcements to the broadcast channel without joining it.
	"chat.postMessage": {"chat:write", "chat:write.public"},
	// Sign in with Slack for the web view runs on the user's token, not the bot's.
	"openid.connect.userInfo": nil,
}

// eventScopes are the scopes each subscribed bot event needs.
var eventScopes = map[string][]string{
	"message.channels": {"channels:history"},
	"message.groups":   {"groups:history"},
	"pin_added":        {"pins:read"},
	"pin_removed":      {"pins:read"},
	"reaction_added":   {"reactions:read"},
	"reaction_removed": {"reactions:read"},
	"app_mention":      {"app_mentions:read"},
	"user_change":      {"users:read"},
	"team_join":        {"users:read"},
}

// calledSlackMethods finds every slack-go Client method called from the
// product's code (not tests, not the fake Slack).
func calledSlackMethods(t *testing.T) map[string]string {
	t.Helper()
	clientMethods := map[string]bool{}
	ct := reflect.TypeOf(&slack.Client{})
	for i := 0; i < ct.NumMethod(); i++ {
		clientMethods[ct.Method(i).Name] = true
	}
	found := map[string]string{}
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "slackfake" || d.Name() == "tools" || strings.HasPrefix(d.Name(), ".")) && path != "../.." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		require.NoError(t, err)
		importsSlack := false
		for _, im := range f.Imports {
			importsSlack = importsSlack || strings.Trim(im.Path.Value, `"`) == "github.com/slack-go/slack"
		}
		if !importsSlack {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && clientMethods[sel.Sel.Name] {
					found[sel.Sel.Name] = path
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, found)
	return found
}

// requiredScopes derives the bot scopes from the Slack methods the code
// calls, the events the manifest subscribes to and the slash command.
func requiredScopes(t *testing.T, events []string) []string {
	t.Helper()
	set := map[string]bool{"commands": true}
	for method, file := range calledSlackMethods(t) {
		api, ok := slackMethods[method]
		require.True(t, ok, "%s calls slack.Client.%s: add it to slackMethods with its Web API method", file, method)
		scopes, ok := methodScopes[api]
		require.True(t, ok, "add the scopes of %s to methodScopes", api)
		for _, s := range scopes {
			set[s] = true
		}
	}
	for _, ev := range events {
		scopes, ok := eventScopes[ev]
		require.True(t, ok, "add the scopes of the %s event to eventScopes", ev)
		for _, s := range scopes {
			set[s] = true
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
