package remote

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors wrapped by *Error.
var (
	// ErrNotReady: the server or the model reports that it is not ready.
	ErrNotReady = errors.New("not ready")
	// ErrMetadata: the model's metadata does not describe a softdiff
	// denoiser these options can use (a missing tensor, a wrong datatype or
	// shape, another vocabulary size or MASK id).
	ErrMetadata = errors.New("model metadata mismatch")
	// ErrBadResponse: an answer that breaks the protocol or the denoiser
	// contract (unparsable, missing outputs, wrong datatypes or shapes,
	// non-finite values, beliefs that are not distributions).
	ErrBadResponse = errors.New("bad response")
)

// Error is a failed exchange with the server.
type Error struct {
	Op       string // "ready", "metadata", "infer"
	URL      string // the request's URL
	Status   int    // the last HTTP status, 0 if no answer came
	Attempts int    // attempts made (1 + retries)
	Msg      string // what went wrong (the server's message for an HTTP error)
	Err      error  // the cause: a sentinel of this package, a network error or a context error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "remote: %s %s", e.Op, e.URL)
	if e.Status != 0 && e.Status != 200 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Msg != "" {
		fmt.Fprintf(&b, ": %s", e.Msg)
	}
	if e.Err != nil && (e.Msg == "" || !errors.Is(e.Err, ErrBadResponse) && !errors.Is(e.Err, ErrMetadata) && !errors.Is(e.Err, ErrNotReady)) {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// badResponse returns an ErrBadResponse error with a formatted message.
func badResponse(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadResponse, fmt.Sprintf(format, a...))
}
