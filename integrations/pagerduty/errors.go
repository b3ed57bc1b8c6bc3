package pagerduty

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/PagerDuty/go-pagerduty"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

const (
	providerID   = "pagerduty"
	providerName = "PagerDuty"

	// maxErrorBody bounds how much of an error response we keep to read
	// PagerDuty's message from.
	maxErrorBody = 16 << 10

	// defaultRateLimitWait is used when a 429 names no wait; PagerDuty's
	// REST limits are per minute.
	defaultRateLimitWait = time.Minute

	// duplicateIncidentKey is how PagerDuty words the 400 for a second open
	// incident with the same incident_key on a service.
	duplicateIncidentKey = "matching dedup key already exists"

	// codeAlreadyResolved and codeAlreadyAcknowledged are PagerDuty's
	// error codes for an update that would put an incident in the status
	// it is in already ("Incident Already Resolved", "Incident Already
	// Acknowledged", developer-docs REST-API/14-Errors.md).
	codeAlreadyResolved     = 1001
	codeAlreadyAcknowledged = 1002
	// codeAlreadyMerged refuses an update of an incident merged into
	// another ("Incident Already Merged"); merging resolves it.
	codeAlreadyMerged = 1019
)

// exchange is what the last HTTP exchange of one SDK call looked like. The
// SDK flattens transport errors with %v and drops the response headers and,
// for Events v2, the error body; we keep them here to build precise errors.
type exchange struct {
	err    error
	status int
	header http.Header
	body   []byte
}

type exchangeKey struct{}

// recordingDoer is the SDK's HTTPClient: it sends through the caller's
// *http.Client and notes each exchange in the request context's *exchange.
type recordingDoer struct {
	hc *http.Client
}

// Do sends req and records the outcome.
func (d recordingDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.hc.Do(req)
	x, _ := req.Context().Value(exchangeKey{}).(*exchange)
	if x == nil {
		return resp, err
	}
	*x = exchange{err: err}
	if resp != nil {
		x.status = resp.StatusCode
		x.header = resp.Header.Clone()
		if resp.StatusCode >= 300 {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
			_ = resp.Body.Close()
			x.body = body
			resp.Body = io.NopCloser(bytes.NewReader(body))
		}
	}
	return resp, err
}

// apiError is a PagerDuty failure with a domain code and a user-safe
// message; the SDK's error stays wrapped for logs.
type apiError struct {
	code    string
	message string
	// status is PagerDuty's HTTP status, or 0.
	status int
	// pdCode is PagerDuty's error code ("error.code"), or 0.
	pdCode int
	// details are PagerDuty's error details ("errors").
	details []string
	cause   error
}

// Error implements the error interface.
func (e *apiError) Error() string {
	return fmt.Sprintf("%s (%s): %v", e.message, e.code, e.cause)
}

// Unwrap returns the SDK's error.
func (e *apiError) Unwrap() error { return e.cause }

// As lets errors.As find an *incident.Error with e's code and message.
func (e *apiError) As(target any) bool {
	if t, ok := target.(**incident.Error); ok {
		*t = incident.Errorf(e.code, "%s", e.message)
		return true
	}
	return false
}

// duplicate reports whether PagerDuty refused an incident because an open
// one with the same incident_key exists.
func (e *apiError) duplicate() bool {
	if e.status != http.StatusBadRequest {
		return false
	}
	for _, d := range append([]string{e.message}, e.details...) {
		if strings.Contains(strings.ToLower(d), duplicateIncidentKey) {
			return true
		}
	}
	return false
}

// alreadyResolved reports whether PagerDuty refused an update because the
// incident is resolved already.
func (e *apiError) alreadyResolved() bool {
	return e.already(codeAlreadyResolved, "already resolved")
}

// alreadyMerged reports whether PagerDuty refused an update because the
// incident was merged into another.
func (e *apiError) alreadyMerged() bool {
	return e.already(codeAlreadyMerged, "already merged")
}

// alreadyAcknowledged reports whether PagerDuty refused an update because
// the incident is acknowledged already.
func (e *apiError) alreadyAcknowledged() bool {
	return e.already(codeAlreadyAcknowledged, "already acknowledged")
}

// already reports whether PagerDuty refused an update with its error code
// code, or, from a proxy or an answer without the code, with words in its
// message or details.
func (e *apiError) already(code int, words string) bool {
	if e.status != http.StatusBadRequest {
		return false
	}
	if e.pdCode == code {
		return true
	}
	for _, d := range append([]string{e.message}, e.details...) {
		if strings.Contains(strings.ToLower(d), words) {
			return true
		}
	}
	return false
}

// errorBody holds both shapes PagerDuty answers errors with: the REST API's
// {"error":{...}} and the Events API's flat {"status","message","errors"}.
type errorBody struct {
	Error *struct {
		Message string          `json:"message"`
		Code    int             `json:"code"`
		Errors  json.RawMessage `json:"errors"`
	} `json:"error"`
	Status  string          `json:"status"`
	Message string          `json:"message"`
	Errors  json.RawMessage `json:"errors"`
}

// parseErrorBody returns PagerDuty's message, details and error code (0
// for the Events API, which has none) from an error body.
func parseErrorBody(body []byte) (message string, details []string, code int) {
	var eb errorBody
	if len(body) == 0 || json.Unmarshal(body, &eb) != nil {
		return "", nil, 0
	}
	if eb.Error != nil {
		return eb.Error.Message, stringList(eb.Error.Errors), eb.Error.Code
	}
	return eb.Message, stringList(eb.Errors), 0
}

// stringList reads "errors", which PagerDuty sends as a list of strings and
// occasionally as a single string.
func stringList(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one string
	if json.Unmarshal(raw, &one) == nil && one != "" {
		return []string{one}
	}
	return nil
}

// translate turns the error of an SDK call into a domain error. op names
// the call in the wrapped error ("incidents.create").
func (c *Client) translate(op string, x *exchange, err error) error {
	if err == nil {
		return nil
	}
	if x.err != nil {
		return fmt.Errorf("pagerduty %s: %w", op, transportError(x.err))
	}
	status := x.status
	var sdkErr pagerduty.APIError
	if errors.As(err, &sdkErr) {
		status = sdkErr.StatusCode
	}
	switch {
	case status < 300:
		// The exchange succeeded but the SDK failed afterwards, decoding
		// the body: a bug on one side or the other, not the user's.
		return fmt.Errorf("pagerduty %s: %w", op, err)
	case status == http.StatusTooManyRequests:
		return fmt.Errorf("pagerduty %s: %w", op, &outbound.RateLimitedError{
			Provider: providerID, Name: providerName,
			Wait: outbound.RetryAfterOr(x.header, c.clock.Now(), defaultRateLimitWait), Cause: err,
		})
	case status >= 500 || status == http.StatusRequestTimeout:
		return fmt.Errorf("pagerduty %s: %w", op, &outbound.UnavailableError{
			Provider: providerID, Name: providerName, Status: status, Cause: err,
		})
	}
	msg, details, code := parseErrorBody(x.body)
	if msg == "" && sdkErr.APIError.Valid {
		msg, details, code = sdkErr.APIError.ErrorObject.Message, sdkErr.APIError.ErrorObject.Errors, sdkErr.APIError.ErrorObject.Code
	}
	e := rejection(status, msg, details, err)
	e.pdCode = code
	return fmt.Errorf("pagerduty %s: %w", op, e)
}

// transportError is the domain error for an exchange that got no answer:
// the transport's own error when it is already one, else an
// *outbound.UnavailableError.
func transportError(err error) error {
	var ue *outbound.UnavailableError
	var rl *outbound.RateLimitedError
	if errors.As(err, &ue) || errors.As(err, &rl) || errors.Is(err, context.Canceled) {
		return err
	}
	return &outbound.UnavailableError{
		Provider: providerID, Name: providerName,
		Timeout: errors.Is(err, context.DeadlineExceeded) || isTimeout(err),
		Cause:   err,
	}
}

// rejection is the domain error for a 4xx answer, with PagerDuty's message
// and details.
func rejection(status int, msg string, details []string, cause error) *apiError {
	e := &apiError{status: status, details: details, cause: cause}
	said := pdSaid(status, msg, details)
	switch status {
	case http.StatusUnauthorized:
		e.code = incident.EFORBIDDEN
		e.message = "PagerDuty rejected the bot's REST API token (" + said + "); check the token."
	case http.StatusPaymentRequired, http.StatusForbidden:
		e.code = incident.EFORBIDDEN
		e.message = "PagerDuty refused: " + said + "."
	case http.StatusNotFound:
		e.code = incident.ENOTFOUND
		e.message = "PagerDuty could not find it: " + said + "."
	default:
		e.code = incident.EINVALID
		e.message = "PagerDuty rejected the request: " + said + "."
	}
	return e
}

// pdSaid renders PagerDuty's message and details for a user.
func pdSaid(status int, msg string, details []string) string {
	if msg == "" {
		msg = "HTTP " + strconv.Itoa(status)
	}
	if len(details) > 0 {
		msg += ": " + strings.Join(details, "; ")
	}
	msg = strings.TrimRight(msg, ". ")
	const maxLen = 300
	if r := []rune(msg); len(r) > maxLen {
		msg = string(r[:maxLen]) + "…"
	}
	return msg
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
