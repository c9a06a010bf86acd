package experiments

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/softdiff/softdiff/data"
	"github.com/softdiff/softdiff/oracle"
)

// DataEnv names the environment variable that overrides the shipped data:
// when it is set, the experiments read their model files from that
// directory (kjv-hmm.json, in the format of oracle.WriteHMM) instead of the
// copies embedded in the binary (package data), for example to run them on
// a refitted model. Unset, nothing is read from disk, so the softdiff
// command works from any directory.
const DataEnv = "SOFTDIFF_DATA"

var (
	kjvMu    sync.Mutex
	kjvCache = map[int]*oracle.HMM{}
)

// kjvHMM returns the HMM fitted by EM to the KJV Pentateuch (24 states, 300
// words + UNK + MASK) at length L: the embedded oracle.KJV, or
// $SOFTDIFF_DATA/kjv-hmm.json when DataEnv is set.
func kjvHMM(L int) (*oracle.HMM, error) {
	kjvMu.Lock()
	defer kjvMu.Unlock()
	if h, ok := kjvCache[L]; ok {
		return h, nil
	}
	var (
		h   *oracle.HMM
		err error
	)
	if d := os.Getenv(DataEnv); d != "" {
		h, err = oracle.LoadHMM(filepath.Join(d, data.KJVHMMFile), L)
		if err != nil {
			err = fmt.Errorf("%s=%s: %w", DataEnv, d, err)
		}
	} else {
		h, err = oracle.KJV(L)
	}
	if err != nil {
		return nil, err
	}
	kjvCache[L] = h
	return h, nil
}
