package bot

import (
	"context"
	"errors"
	"net"
	"net/url"
	"time"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// apiError is a failed Slack call. Its chain holds the incident error that
// says what failed in words a person can act on (when the cause does not
// carry its own, as the outbound client's errors do) and the cause itself:
// slack.SlackErrorResponse, slack.StatusCodeError, a transport error.
type apiError struct {
	method string
	kind   *incident.Error
	err    error
}

// Error implements the error interface.
func (e *apiError) Error() string { return "slack " + e.method + ": " + e.err.Error() }

// Unwrap returns the incident error first, so errors.As finds it before any
// other in the cause.
func (e *apiError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

// rateLimitedError is an apiError for a call Slack rate limited. RetryAfter
// lets the job engine wait as long as Slack asked.
type rateLimitedError struct {
	*apiError
	wait time.Duration
}

// RetryAfter returns how long Slack asked us to wait.
func (e *rateLimitedError) RetryAfter() time.Duration { return e.wait }

// slackCode returns the Slack error code of err ("name_taken"), or "".
func slackCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	var sp *slack.SlackErrorResponse
	if errors.As(err, &sp) && sp != nil {
		return sp.Err
	}
	return ""
}

// classify wraps a failed call to method; what says, for people, what the
// bot was trying to do ("set the channel topic"). nil stays nil.
func classify(method, what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &apiError{method: method, err: err}
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return &rateLimitedError{wait: rl.RetryAfter, apiError: &apiError{method: method, err: err,
			kind: incident.Errorf(incident.EUNAVAILABLE, "Slack is rate limiting the bot, so it could not %s yet; it will try again in %s.",
				what, max(rl.RetryAfter, time.Second).Round(time.Second))}}
	}
	var ie *incident.Error
	if errors.As(err, &ie) {
		return &apiError{method: method, err: err}
	}
	if code := slackCode(err); code != "" {
		return &apiError{method: method, err: err, kind: slackErrorKind(code, what, err)}
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		if sc.Code >= 500 {
			return &apiError{method: method, err: err, kind: incident.Errorf(incident.EUNAVAILABLE,
				"Slack is not responding (HTTP %d), so the bot could not %s; it will try again.", sc.Code, what)}
		}
		return &apiError{method: method, err: err, kind: incident.Errorf(incident.EINTERNAL,
			"Slack answered HTTP %d when the bot tried to %s.", sc.Code, what)}
	}
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &ne) || errors.As(err, &ue) {
		return &apiError{method: method, err: err, kind: incident.Errorf(incident.EUNAVAILABLE,
			"The bot could not reach Slack to %s; it will try again.", what)}
	}
	return &apiError{method: method, err: err}
}

// slackErrorKind maps a Slack error code to an incident error whose message
// says what failed and why.
func slackErrorKind(code, what string, err error) *incident.Error {
	refused := func(kind, why string) *incident.Error {
		return incident.Errorf(kind, "Slack refused to %s: %s.", what, why)
	}
	switch code {
	case "channel_not_found":
		return refused(incident.ENOTFOUND, "the channel does not exist, or it is private and the bot is not a member")
	case "message_not_found", "thread_not_found":
		return refused(incident.ENOTFOUND, "the message no longer exists")
	case "user_not_found", "users_not_found", "no_such_subteam", "subteam_not_found":
		return refused(incident.ENOTFOUND, "the user or group does not exist")
	case "not_in_channel":
		return refused(incident.EFORBIDDEN, "the bot is not a member of the channel; invite it first")
	case "user_not_in_channel":
		return refused(incident.EFORBIDDEN, "the person is not a member of the channel")
	case "is_archived", "is_inactive":
		return refused(incident.ECONFLICT, "the channel is archived")
	case "missing_scope":
		var se slack.SlackErrorResponse
		if errors.As(err, &se) && se.Needed != "" {
			return refused(incident.EFORBIDDEN, "the Slack app lacks the "+se.Needed+" permission; reinstall it with that scope")
		}
		return refused(incident.EFORBIDDEN, "the Slack app lacks a permission it needs; reinstall it with the scopes in the manifest")
	case "not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type",
		"no_permission", "access_denied", "ekm_access_denied", "team_access_not_granted":
		return refused(incident.EFORBIDDEN, "the bot's token is not valid for this workspace")
	case "restricted_action", "cannot_create_channel", "cant_invite", "user_is_restricted", "not_pinnable":
		return refused(incident.EFORBIDDEN, "the workspace settings do not allow it")
	case "invalid_name", "invalid_name_maxlength", "invalid_name_punctuation", "invalid_name_required",
		"invalid_name_specials":
		return refused(incident.EINVALID, "the channel name is not allowed ("+code+")")
	case "too_long", "msg_too_long", "msg_blocks_too_long", "invalid_blocks", "invalid_blocks_format", "no_text",
		"invalid_link", "invalid_arguments", "invalid_bookmark_type", "too_many_users", "invalid_cursor",
		"invalid_ts_latest", "invalid_ts_oldest", "no_item_specified":
		return refused(incident.EINVALID, "the request was malformed ("+code+"); this is a bug in the bot")
	case "too_many_bookmarks":
		return refused(incident.EINVALID, "the channel has as many bookmarks as Slack allows")
	case "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout":
		return incident.Errorf(incident.EUNAVAILABLE, "Slack could not %s right now (%s); the bot will try again.", what, code)
	}
	return refused(incident.EINTERNAL, "Slack said "+code)
}
