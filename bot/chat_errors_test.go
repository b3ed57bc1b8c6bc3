package bot

import (
	"errors"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// Each Slack error code the bot knows says what failed, why, and what kind
// of failure it is; a code it does not know is named.
func TestSlackErrorKind(t *testing.T) {
	t.Parallel()
	cases := []struct{ code, kind, msg string }{
		{"channel_not_found", incident.ENOTFOUND, "Slack refused to pin the message: the channel does not exist, or it is private and the bot is not a member."},
		{"thread_not_found", incident.ENOTFOUND, "Slack refused to pin the message: the message no longer exists."},
		{"subteam_not_found", incident.ENOTFOUND, "Slack refused to pin the message: the user or group does not exist."},
		{"not_in_channel", incident.EFORBIDDEN, "Slack refused to pin the message: the bot is not a member of the channel; invite it first."},
		{"user_not_in_channel", incident.EFORBIDDEN, "Slack refused to pin the message: the person is not a member of the channel."},
		{"is_inactive", incident.ECONFLICT, "Slack refused to pin the message: the channel is archived."},
		{"missing_scope", incident.EFORBIDDEN, "Slack refused to pin the message: the Slack app lacks a permission it needs; reinstall it with the scopes in the manifest."},
		{"token_revoked", incident.EFORBIDDEN, "Slack refused to pin the message: the bot's token is not valid for this workspace."},
		{"not_pinnable", incident.EFORBIDDEN, "Slack refused to pin the message: the workspace settings do not allow it."},
		{"invalid_name_specials", incident.EINVALID, "Slack refused to pin the message: the channel name is not allowed (invalid_name_specials)."},
		{"invalid_blocks", incident.EINVALID, "Slack refused to pin the message: the request was malformed (invalid_blocks); this is a bug in the bot."},
		{"too_many_bookmarks", incident.EINVALID, "Slack refused to pin the message: the channel has as many bookmarks as Slack allows."},
		{"fatal_error", incident.EUNAVAILABLE, "Slack could not pin the message right now (fatal_error); it will try again."},
		{"message_limit_exceeded", incident.EUNAVAILABLE, "Slack refused to pin the message: this free Slack workspace has sent too many messages in a short time " +
			"(message_limit_exceeded); Slack takes messages again after a while, and paid plans have no such limit."},
		{"something_new", incident.EINTERNAL, "Slack refused to pin the message: Slack said something_new."},
	}
	for _, c := range cases {
		e := slackErrorKind(c.code, "pin the message", retriedJob, errors.New(c.code))
		require.Equal(t, c.kind, e.Code, c.code)
		require.Equal(t, c.msg, e.Message, c.code)
	}
	e := slackErrorKind("missing_scope", "pin the message", retriedJob, slack.SlackErrorResponse{Err: "missing_scope", ResponseMetadata: slack.ResponseMetadata{}, Needed: "pins:write"})
	require.Equal(t, "Slack refused to pin the message: the Slack app lacks the pins:write permission; reinstall it with that scope.", e.Message)
	e = slackErrorKind("fatal_error", "pin the message", askedNow, errors.New("fatal_error"))
	require.Equal(t, "Slack could not pin the message right now (fatal_error); nothing was changed. Try again in a moment.", e.Message,
		"a person who asked is not promised a retry")
}
