package experiments

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/softdiff/softdiff/oracle"
)

// DataEnv names the environment variable that points at softdiff's data
// directory (the repository's data/). Without it, the directory is searched
// for upwards from the working directory.
const DataEnv = "SOFTDIFF_DATA"

// dataPath returns the path of a file in the data directory.
func dataPath(name string) (string, error) {
	if d := os.Getenv(DataEnv); d != "" {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", DataEnv, d, err)
		}
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "data", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("data file %s not found in data/ of the working directory or above (set %s)", name, DataEnv)
		}
		dir = parent
	}
}

var (
	kjvMu    sync.Mutex
	kjvCache = map[int]*oracle.HMM{}
)

// kjvHMM returns the HMM fitted by EM to the KJV Pentateuch
// (data/kjv-hmm.json: 24 states, 300 words + UNK + MASK) at length L.
func kjvHMM(L int) (*oracle.HMM, error) {
	kjvMu.Lock()
	defer kjvMu.Unlock()
	if h, ok := kjvCache[L]; ok {
		return h, nil
	}
	p, err := dataPath("kjv-hmm.json")
	if err != nil {
		return nil, err
	}
	h, err := oracle.LoadHMM(p, L)
	if err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("kjv-hmm.json: no model")
	}
	kjvCache[L] = h
	return h, nil
}
