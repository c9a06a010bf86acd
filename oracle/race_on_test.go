//go:build race

package oracle_test

// raceOn: the race detector makes sync.Pool drop items on purpose, so the
// zero-allocation assertions are skipped under -race.
const raceOn = true
