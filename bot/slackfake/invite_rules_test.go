package slackfake_test

import (
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// TestConversationsInviteRefusesWhomSlackRefuses: the per-user refusals
// conversations.invite documents (docs.slack.dev/reference/methods/
// conversations.invite): a guest the bot may not add (user_is_restricted),
// a single-channel guest already in their one channel (ura_max_channels),
// a person of another workspace of the organisation
// (org_user_not_in_team), each reported in "errors" with force while the
// others are invited.
func TestConversationsInviteRefusesWhomSlackRefuses(t *testing.T) {
	t.Parallel()
	f := setup(t)
	guest := f.srv.AddUser(slackfake.User{Name: "contractor", Guest: true})
	single := f.srv.AddUser(slackfake.User{Name: "auditor", SingleChannelGuest: true})
	f.srv.AddChannel(slackfake.Channel{Name: "audit", Members: []string{single.ID}})
	fresh := f.srv.AddUser(slackfake.User{Name: "newcomer", SingleChannelGuest: true})
	elsewhere := f.srv.AddUser(slackfake.User{Name: "sister", TeamID: "T0OTHER01"})

	for _, tt := range []struct {
		name, user, want string
	}{
		{"multi-channel guest", guest.ID, "user_is_restricted"},
		{"single-channel guest in their channel", single.ID, "ura_max_channels"},
		{"single-channel guest in no channel", fresh.ID, "user_is_restricted"},
		{"another workspace", elsewhere.ID, "org_user_not_in_team"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.api.ForceInviteUsersToConversation(f.incident.ID, tt.user)
			require.Equal(t, tt.want, slackErr(t, err))
			var se slack.SlackErrorResponse
			require.ErrorAs(t, err, &se)
			require.Len(t, se.Errors, 1)
			require.Equal(t, tt.user, se.Errors[0].ConversationsInviteResponseError.User)
			require.Equal(t, tt.want, se.Errors[0].ConversationsInviteResponseError.Error)
		})
	}

	_, err := f.api.ForceInviteUsersToConversation(f.incident.ID, guest.ID, f.bob.ID, single.ID, elsewhere.ID)
	require.NoError(t, err, "with force the others are invited")
	ch, _ := f.srv.Channel(f.incident.ID)
	require.Contains(t, ch.Members, f.bob.ID)
	require.NotContains(t, ch.Members, guest.ID)
	require.NotContains(t, ch.Members, single.ID)
	require.NotContains(t, ch.Members, elsewhere.ID)
}
