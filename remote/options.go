package remote

import (
	"net/http"
	"runtime"
	"time"

	"github.com/softdiff/softdiff/soft"
)

// Options are a Model's settings. The zero value is a safe default: dense
// beliefs, exact evidence, 64 sequences per request, 4 requests in flight,
// 2-minute attempts, 4 retries from 50 ms backoff.
type Options struct {
	// TopK > 0 asks for the top-k beliefs of each position and their
	// residual mass instead of dense beliefs; a belief row is then the k
	// listed probabilities with the residual spread uniformly over the
	// other tokens. Exact for the samplers' argmax and confidence at
	// temperature 0; an approximation of the tail otherwise.
	TopK int
	// Logits asks for logits instead of beliefs (binary transfer only); the
	// softmax is taken here. Ignored when TopK > 0.
	Logits bool
	// EvidenceTopK > 0 sends every evidence row as its EvidenceTopK largest
	// entries and their residual mass (read by the server as spread
	// uniformly over the other states): lossy for soft rows with more
	// nonzero entries. 0 sends rows exactly: sparse when every row of a
	// request has at most 64 nonzero entries (and that is smaller than
	// dense), dense otherwise.
	EvidenceTopK int
	// DenseEvidence always sends dense evidence.
	DenseEvidence bool
	// JSON sends and receives tensors as JSON arrays instead of binary data
	// (slower; for servers without the binary extension). Logits and the
	// PLL need binary data.
	JSON bool

	// MaxBatch bounds the sequences of one request; 0 means 64.
	MaxBatch int
	// Concurrency bounds the requests in flight, for this Model and every
	// Model WithContext derives from it; 0 means 4.
	Concurrency int
	// Workers bounds the goroutines that encode and check one request's
	// tensors; 0 means GOMAXPROCS. Results do not depend on it.
	Workers int

	// Timeout bounds one attempt (connect, send, model, answer); 0 means
	// 2 minutes. A timed-out attempt is an error, not retried.
	Timeout time.Duration
	// Retries bounds the retries of a transient failure; 0 means 4,
	// negative means none.
	Retries int
	// Backoff is the wait before the first retry, doubled at each further
	// one up to MaxBackoff; 0 means 50 ms. A Retry-After header is honoured
	// up to MaxBackoff.
	Backoff time.Duration
	// MaxBackoff caps the wait between attempts; 0 means 5 s.
	MaxBackoff time.Duration
	// MaxResponseBytes bounds an answer's body; 0 means 16 GiB.
	MaxResponseBytes int64

	// Vocab, if set, must match the model: the same size and MASK id.
	Vocab *soft.Vocab
	// HTTPClient, if set, is used for every request (its Timeout should be
	// zero: Timeout bounds attempts). The default has keep-alive
	// connections for Concurrency requests.
	HTTPClient *http.Client
}

// maxExactSparse is the most nonzero entries per row for which exact
// evidence travels sparse.
const maxExactSparse = 64

func (o Options) withDefaults() Options {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 64
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	switch {
	case o.Retries == 0:
		o.Retries = 4
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = 50 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Second
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 16 << 30
	}
	if o.TopK > 0 {
		o.Logits = false
	}
	if o.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = o.Concurrency
		t.MaxConnsPerHost = 0
		o.HTTPClient = &http.Client{Transport: t}
	}
	return o
}
