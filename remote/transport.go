package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// reply is one HTTP answer read in full.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// call makes the request op (method, url, body) until it gets a 200 answer,
// a permanent failure, or runs out of retries. hdrLen (the JSON part of a
// binary request, −1 for none) goes into the headers. The answer's body is
// read into *buf when it is large enough (buf may be nil), which then
// holds the grown buffer.
func (m *Model) call(op, method, url string, body []byte, hdrLen int, buf *[]byte) (*reply, error) {
	ctx := m.ctx
	for attempt := 1; ; attempt++ {
		rep, err := m.once(ctx, method, url, body, hdrLen, buf)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, &Error{Op: op, URL: url, Attempts: attempt, Err: ctxErr}
		}
		if err == nil && rep.status == http.StatusOK {
			if attempt > 1 {
				m.stats.retries.Add(int64(attempt - 1))
			}
			return rep, nil
		}
		e := &Error{Op: op, URL: url, Attempts: attempt, Err: err}
		if err == nil {
			e.Status = rep.status
			e.Msg = serverMessage(rep)
		}
		if attempt > m.opts.Retries || !transient(err, e.Status) {
			if errors.Is(err, context.DeadlineExceeded) {
				e.Msg = fmt.Sprintf("no answer within %v", m.opts.Timeout)
			}
			m.stats.retries.Add(int64(attempt - 1))
			return nil, e
		}
		wait := m.opts.Backoff << (attempt - 1)
		if err == nil {
			if s, perr := strconv.Atoi(rep.header.Get("Retry-After")); perr == nil && s >= 0 {
				wait = time.Duration(s) * time.Second
			}
		}
		wait = min(wait, m.opts.MaxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, &Error{Op: op, URL: url, Attempts: attempt, Err: ctx.Err()}
		}
	}
}

// once makes one attempt under the per-attempt timeout and reads the whole
// answer.
func (m *Model) once(ctx context.Context, method, url string, body []byte, hdrLen int, buf *[]byte) (*reply, error) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		if hdrLen >= 0 {
			req.Header.Set("Content-Type", "application/octet-stream")
			req.Header.Set("Inference-Header-Content-Length", strconv.Itoa(hdrLen))
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	resp, err := m.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.ContentLength > m.opts.MaxResponseBytes {
		return nil, badResponse("answer of %d bytes exceeds the limit of %d", resp.ContentLength, m.opts.MaxResponseBytes)
	}
	var b []byte
	if resp.ContentLength >= 0 {
		if buf != nil && int64(cap(*buf)) >= resp.ContentLength {
			b = (*buf)[:resp.ContentLength]
		} else {
			b = make([]byte, resp.ContentLength)
			if buf != nil {
				*buf = b
			}
		}
		_, err = io.ReadFull(resp.Body, b)
	} else {
		b, err = io.ReadAll(io.LimitReader(resp.Body, m.opts.MaxResponseBytes+1))
		if err == nil && int64(len(b)) > m.opts.MaxResponseBytes {
			err = badResponse("answer exceeds the limit of %d bytes", m.opts.MaxResponseBytes)
		}
	}
	if err != nil {
		return nil, err
	}
	m.stats.bytesIn.Add(int64(len(b)))
	m.stats.bytesOut.Add(int64(len(body)))
	return &reply{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// transient reports whether a failure may pass by itself: the server not
// listening yet, a connection reset or dropped before the answer was read
// in full, or HTTP 429, 502, 503, 504.
func transient(err error, status int) bool {
	if err == nil {
		switch status {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	if errors.Is(err, ErrBadResponse) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// serverMessage returns the "error" string of a JSON error answer, or the
// start of the body.
func serverMessage(r *reply) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(r.body, &e) == nil && e.Error != "" {
		return e.Error
	}
	s := string(r.body)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
