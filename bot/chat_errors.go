package bot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
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

// classifyIn wraps a failed call to method made on ctx; what says, for
// people, what the bot was trying to do ("set the channel topic"). nil
// stays nil. A failure that may pass (Slack rate limiting, answering 5xx,
// not answering in time, unreachable) is worded for who meets it: in a job
// (incident.JobID), which the engine retries, "it will try again"; for a
// person who asked (a command, a click, an API call), which nothing
// retries, that nothing was changed and when to try again.
func classifyIn(ctx context.Context, method, what string, err error) error {
	return classifyFor(nextStep(ctx), method, what, err)
}

// classifyFor is classifyIn with next, what follows the failure, known.
func classifyFor(next afterFailure, method, what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return &apiError{method: method, err: err}
	}
	// An HTTP call whose deadline passes ends with the deadline's cause:
	// the acknowledgement path's is errStoreSlow.
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errStoreSlow) {
		return &apiError{method: method, err: err, kind: incident.Errorf(incident.EUNAVAILABLE,
			"Slack did not answer in time, so the bot could not %s%s", what, next.after(0))}
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return &rateLimitedError{wait: rl.RetryAfter, apiError: &apiError{method: method, err: err,
			kind: incident.Errorf(incident.EUNAVAILABLE, "Slack is rate limiting the bot, so it could not %s yet%s",
				what, next.after(max(rl.RetryAfter, time.Second)))}}
	}
	var ie *incident.Error
	if errors.As(err, &ie) {
		// The outbound client's own words ("Slack is not responding
		// (HTTP 503 after 4 attempts); retrying in the background.") hold
		// for a job; a person who asked is told what to do instead.
		if ie.Code != incident.EUNAVAILABLE || next == retriedJob || next == unsaidNext {
			return &apiError{method: method, err: err}
		}
		var wait interface{ RetryAfter() time.Duration }
		if errors.As(err, &wait) {
			return &apiError{method: method, err: err, kind: incident.Errorf(incident.EUNAVAILABLE,
				"Slack is rate limiting the bot, so it could not %s yet%s", what, next.after(max(wait.RetryAfter(), time.Second)))}
		}
		return &apiError{method: method, err: err, kind: incident.Errorf(incident.EUNAVAILABLE,
			"Slack is not responding, so the bot could not %s%s", what, next.after(0))}
	}
	if code := slackCode(err); code != "" {
		return &apiError{method: method, err: err, kind: slackErrorKind(code, what, next, err)}
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		if sc.Code >= 500 {
			return &apiError{method: method, err: err, kind: incident.Errorf(incident.EUNAVAILABLE,
				"Slack is not responding (HTTP %d), so the bot could not %s%s", sc.Code, what, next.after(0))}
		}
		return &apiError{method: method, err: err, kind: incident.Errorf(incident.EINTERNAL,
			"Slack answered HTTP %d when the bot tried to %s.", sc.Code, what)}
	}
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &ne) || errors.As(err, &ue) {
		return &apiError{method: method, err: err, kind: incident.Errorf(incident.EUNAVAILABLE,
			"The bot could not reach Slack to %s%s", what, next.after(0))}
	}
	return &apiError{method: method, err: err}
}

// afterFailure is what happens after a failure that may pass, as the words
// for it end.
type afterFailure int

const (
	// unsaidNext: the caller's context is not known; the sentence ends.
	unsaidNext afterFailure = iota
	// retriedJob: the job engine retries the job.
	retriedJob
	// askedNow: a person asked and waits for the answer; nothing retries.
	askedNow
)

// nextStep is what follows a failure met on ctx.
func nextStep(ctx context.Context) afterFailure {
	if incident.JobID(ctx) != 0 {
		return retriedJob
	}
	return askedNow
}

// after ends the sentence of a failure that may pass: "; it will try
// again" in a job, "; nothing was changed. Try again in 30 seconds." for a
// person, with wait as the time to wait when known.
func (f afterFailure) after(wait time.Duration) string {
	switch f {
	case retriedJob:
		if wait > 0 {
			return "; it will try again in " + waitWords(wait) + "."
		}
		return "; it will try again."
	case askedNow:
		if wait > 0 {
			return "; nothing was changed. Try again in " + waitWords(wait) + "."
		}
		return "; nothing was changed. Try again in a moment."
	}
	return "."
}

// waitWords says a wait, rounded up to the second, or to the minute past
// the first: "30 seconds", "2 minutes"; trying again at the time said is
// never too early.
func waitWords(d time.Duration) string {
	if d < time.Minute {
		return incident.DurationWords(max(d.Round(time.Second), time.Second))
	}
	if r := d % time.Minute; r > 0 {
		d += time.Minute - r
	}
	return incident.DurationWords(d)
}

// slackRefusal is what a Slack error code means: the kind of incident
// error, and why Slack refused, with %[1]s standing for the code.
type slackRefusal struct{ kind, why string }

// slackRefusals are the Slack error codes the bot words, by code.
var slackRefusals = func() map[string]slackRefusal {
	m := map[string]slackRefusal{}
	add := func(kind, why string, codes ...string) {
		for _, c := range codes {
			m[c] = slackRefusal{kind, why}
		}
	}
	add(incident.ENOTFOUND, "the channel does not exist, or it is private and the bot is not a member", "channel_not_found")
	add(incident.ENOTFOUND, "the message no longer exists", "message_not_found", "thread_not_found")
	add(incident.ENOTFOUND, "the user or group does not exist", "user_not_found", "users_not_found", "no_such_subteam", "subteam_not_found")
	add(incident.EFORBIDDEN, "the bot is not a member of the channel; invite it first", "not_in_channel")
	add(incident.EFORBIDDEN, "the person is not a member of the channel", "user_not_in_channel")
	add(incident.ECONFLICT, "the channel is archived", "is_archived", "is_inactive")
	add(incident.EFORBIDDEN, "the bot's token is not valid for this workspace", "not_authed", "invalid_auth", "account_inactive", "token_revoked",
		"token_expired", "not_allowed_token_type", "no_permission", "access_denied", "ekm_access_denied", "team_access_not_granted")
	add(incident.EFORBIDDEN, "the workspace settings do not allow it", "restricted_action", "cannot_create_channel", "cant_invite",
		"user_is_restricted", "not_pinnable")
	add(incident.EINVALID, "the channel name is not allowed (%[1]s)", "invalid_name", "invalid_name_maxlength", "invalid_name_punctuation",
		"invalid_name_required", "invalid_name_specials")
	add(incident.EINVALID, "the request was malformed (%[1]s); this is a bug in the bot", "too_long", "msg_too_long", "msg_blocks_too_long",
		"invalid_blocks", "invalid_blocks_format", "no_text", "invalid_arguments", "invalid_bookmark_type", "too_many_users",
		"invalid_cursor", "invalid_ts_latest", "invalid_ts_oldest", "no_item_specified")
	add(incident.EINVALID, "the channel has as many bookmarks as Slack allows", "too_many_bookmarks")
	add(incident.EINVALID, "the link does not begin with http:// or https://; fix the runbook or dashboard link in the policy", "invalid_link")
	return m
}()

// slackErrorKind maps a Slack error code to an incident error whose message
// says what failed and why; next ends the words of a failure that may pass.
func slackErrorKind(code, what string, next afterFailure, err error) *incident.Error {
	refused := func(kind, why string) *incident.Error {
		return incident.Errorf(kind, "Slack refused to %s: %s.", what, why)
	}
	switch code {
	case "missing_scope":
		var se slack.SlackErrorResponse
		if errors.As(err, &se) && se.Needed != "" {
			return refused(incident.EFORBIDDEN, "the Slack app lacks the "+se.Needed+" permission; reinstall it with that scope")
		}
		return refused(incident.EFORBIDDEN, "the Slack app lacks a permission it needs; reinstall it with the scopes in the manifest")
	case "ratelimited", "rate_limited", "too_many_requests", "internal_error", "fatal_error", "service_unavailable", "request_timeout":
		return incident.Errorf(incident.EUNAVAILABLE, "Slack could not %s right now (%s)%s", what, code, next.after(0))
	case "message_limit_exceeded":
		// Slack's free plan stops a workspace that sends too many
		// messages in a short time ("High-volume message limit",
		// slack.com/help/articles/115002422943): it passes, so a job
		// tries again.
		return refused(incident.EUNAVAILABLE, "this free Slack workspace has sent too many messages in a short time "+
			"(message_limit_exceeded); Slack takes messages again after a while, and paid plans have no such limit")
	}
	if r, ok := slackRefusals[code]; ok {
		why := r.why
		if strings.Contains(why, "%[1]s") {
			why = fmt.Sprintf(why, code)
		}
		return refused(r.kind, why)
	}
	return refused(incident.EINTERNAL, "Slack said "+code)
}
