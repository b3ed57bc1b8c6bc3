package incident

import (
	"errors"
	"fmt"
)

// Error codes returned by the domain and by every implementation of its
// interfaces. Transports map each code to one reply, in one place.
const (
	ECONFLICT    = "conflict"    // the action conflicts with the current state
	EFORBIDDEN   = "forbidden"   // the actor may not do this
	EINTERNAL    = "internal"    // a bug or an unexpected failure
	EINVALID     = "invalid"     // the input is malformed or out of range
	ENOTFOUND    = "not_found"   // the thing does not exist
	EUNAVAILABLE = "unavailable" // a dependency is down; retrying later may work
)

// Error is a domain error: a code for programs and a message that is safe to
// show to the person who caused it.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("incident error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted, user-safe message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	var r *Refusal
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	} else if errors.As(err, &r) {
		return EFORBIDDEN
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of the first *Error in err's
// chain, or a generic sentence for any other error.
func ErrorMessage(err error) string {
	var e *Error
	var r *Refusal
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	} else if errors.As(err, &r) {
		return r.Message()
	}
	return "Something went wrong on our side; the details are in the bot's log."
}
