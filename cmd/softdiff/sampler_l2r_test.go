//go:build examples

package main

import (
	"context"
	"strings"
	"testing"
)

// TestListShowsOutsideSampler: built with -tags examples, the sampler list
// holds the example sampler registered from outside package decode.
func TestListShowsOutsideSampler(t *testing.T) {
	out, _, err := runCLI(context.Background(), "list")
	if err != nil || !strings.Contains(out, "L2R") || !strings.Contains(out, "SL-geometric") {
		t.Fatalf("list: %v %q", err, out)
	}
}
