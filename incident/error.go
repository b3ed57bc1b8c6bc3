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

// ErrMaybeSaved is in the chain of a store's error when the database was
// sent a change's commit and did not answer whether it took it (the
// connection broke, or the deadline passed, while it committed): the change
// may have been stored, and its jobs with it. Its *Error (EUNAVAILABLE)
// says so; a caller must not tell the person that nothing was changed.
var ErrMaybeSaved = errors.New("the database did not confirm the commit")

// Error is a domain error: a code for programs and a message that is safe to
// show to the person who caused it.
type Error struct {
	Code string
	// Message names the people it is about by user id (see User); a chat
	// names them its own way with Text.
	Message string
	// Users are the user ids of the people Message names, in order.
	Users []string

	format string
	args   []any
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("incident error: code=%s message=%s", e.Code, e.Message)
}

// Text is the message naming each of its Users with user.
func (e *Error) Text(user func(id string) string) string {
	if len(e.Users) == 0 {
		return e.Message
	}
	args := make([]any, len(e.args))
	for i, a := range e.args {
		if u, ok := a.(User); ok {
			a = user(string(u))
		}
		args[i] = a
	}
	return fmt.Sprintf(e.format, args...)
}

// User is an argument of Errorf that names a person by user id, so the
// message can be said with the chat's own mention (Error.Text). Formatted
// as such it is the id, or firebreak for the bot.
type User string

// String is the user id, or firebreak for the bot.
func (u User) String() string {
	if u == "" || u == "bot" {
		return "firebreak"
	}
	return string(u)
}

// Errorf returns an *Error with the given code and a formatted, user-safe
// message. Arguments of type User are the people it names.
func Errorf(code string, format string, args ...any) *Error {
	e := &Error{Code: code, Message: fmt.Sprintf(format, args...), format: format, args: args}
	for _, a := range args {
		if u, ok := a.(User); ok {
			e.Users = append(e.Users, string(u))
		}
	}
	return e
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

// Refused reports whether err says the chat (or a provider) refused the
// call for a reason that stays until someone acts (the person deactivated,
// a bot, the channel archived), so that a job retrying the call would only
// repeat the work before it: such a failure is logged and the job goes on.
func Refused(err error) bool { return refusal(err) != nil }

// refusal returns the first error in err's tree that says the chat refused
// the call for a reason that stays until someone acts (ENOTFOUND,
// EFORBIDDEN, EINVALID, ECONFLICT), rather than a failure that may pass by
// itself (EUNAVAILABLE, EINTERNAL); nil when there is none.
func refusal(err error) *Error {
	switch e := err.(type) {
	case nil:
		return nil
	case *Error:
		switch e.Code {
		case ENOTFOUND, EFORBIDDEN, EINVALID, ECONFLICT:
			return e
		}
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			if r := refusal(inner); r != nil {
				return r
			}
		}
		return nil
	}
	return refusal(errors.Unwrap(err))
}
