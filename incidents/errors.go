package incidents

import (
	"errors"
	"fmt"
)

// Kind classifies an error so that each edge (HTTP, chat, CLI) can explain
// it in its own terms and tell the caller whether a retry may help.
type Kind int

const (
	// Internal is a bug or an unexpected condition; details stay in logs.
	Internal Kind = iota
	// Invalid means the input itself is wrong; retrying the same input fails again.
	Invalid
	// NotFound means the named incident (or other object) does not exist.
	NotFound
	// Conflict means the request is valid but not in the object's current
	// state, such as acknowledging a resolved incident.
	Conflict
	// Unavailable means a dependency (the store) could not be reached; the
	// same request may succeed later.
	Unavailable
	// Unauthorized means the caller's credentials are missing or wrong.
	Unauthorized
	// Forbidden means the caller is known but may not do this (not one of
	// the team's responders, a read-only token asking for a change).
	Forbidden
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not_found"
	case Conflict:
		return "conflict"
	case Unavailable:
		return "unavailable"
	case Unauthorized:
		return "unauthorized"
	case Forbidden:
		return "forbidden"
	default:
		return "internal"
	}
}

// Error is the one error type of klaxon's domain. Message is safe to show to
// users; Err is the underlying cause, for logs only.
type Error struct {
	Kind    Kind
	Op      string // the operation that failed, e.g. "redisstore.Ingest"
	Message string
	Err     error
}

func (e *Error) Error() string {
	var s string
	if e.Op != "" {
		s = e.Op + ": "
	}
	switch {
	case e.Message != "" && e.Err != nil:
		return s + e.Message + ": " + e.Err.Error()
	case e.Message != "":
		return s + e.Message
	case e.Err != nil:
		return s + e.Err.Error()
	}
	return s + e.Kind.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind with a formatted, user-safe message.
func Errorf(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error of the given kind for op around err. It returns nil
// when err is nil. An err that already carries a Kind keeps it.
func Wrap(kind Kind, op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return &Error{Kind: e.Kind, Op: op, Message: e.Message, Err: err}
	}
	return &Error{Kind: kind, Op: op, Err: err}
}

// ErrorKind returns the Kind of the first *Error in err's chain, or Internal.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// ErrorMessage returns the user-safe message of err: the Message of the first
// *Error in its chain that has one, otherwise a generic text for its kind.
// Internal causes are never exposed.
func ErrorMessage(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if ke, ok := e.(*Error); ok && ke.Message != "" {
			return ke.Message
		}
	}
	switch ErrorKind(err) {
	case Invalid:
		return "invalid request"
	case NotFound:
		return "not found"
	case Conflict:
		return "conflict with the current state"
	case Unavailable:
		return "the store is unavailable, try again"
	case Unauthorized:
		return "unauthorized"
	}
	return "internal error"
}
