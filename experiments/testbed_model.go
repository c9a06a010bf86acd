package experiments

import "github.com/softdiff/softdiff/oracle"

// TestbedModel returns the exact model of the testbed the experiments call
// name (for example "kjv-hmm-32" or "agreement-pcfg"), built once and
// shared. The data directory is found as for the experiments (DataEnv).
func TestbedModel(name string) (oracle.Model, error) {
	tb, err := getTestbed(name)
	if err != nil {
		return nil, err
	}
	return tb.m, nil
}
