//go:build race

package decode_test

// raceEnabled: the race detector changes allocation counts (and sync.Pool
// drops items at random), so allocation tests skip under it.
const raceEnabled = true
