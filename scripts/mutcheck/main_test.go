package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMutant(t *testing.T) {
	m, ok := ParseMutant("       LIVED CONDITIONALS_BOUNDARY at bessel.go:13:9")
	require.True(t, ok)
	assert.Equal(t, Mutant{"CONDITIONALS_BOUNDARY", "bessel.go", 13, 9}, m)
	_, ok = ParseMutant("Test efficacy: 82.98%")
	assert.False(t, ok)
	_, ok = ParseMutant("LIVED X at a.go:0:3")
	assert.False(t, ok, "line 0 does not exist")
}

// The expected outputs are written by hand from gremlins' operator tables.
func TestApply(t *testing.T) {
	src := []byte("package p\n\nfunc f(a, b int) int {\n\tif a < b && -a >= 2 {\n\t\ta++\n\t}\n\treturn a - b*2\n}\n")
	cases := []struct {
		m    Mutant
		want string // line 4, 5 or 7 after the mutation
		line int
	}{
		{Mutant{"CONDITIONALS_BOUNDARY", "p.go", 4, 7}, "if a <= b && -a >= 2 {", 4},
		{Mutant{"CONDITIONALS_NEGATION", "p.go", 4, 7}, "if a >= b && -a >= 2 {", 4},
		{Mutant{"INVERT_NEGATIVES", "p.go", 4, 14}, "if a < b && +a >= 2 {", 4},
		{Mutant{"CONDITIONALS_BOUNDARY", "p.go", 4, 17}, "if a < b && -a > 2 {", 4},
		{Mutant{"INVERT_LOGICAL", "p.go", 4, 11}, "if a < b || -a >= 2 {", 4},
		{Mutant{"INCREMENT_DECREMENT", "p.go", 5, 4}, "a--", 5},
		{Mutant{"ARITHMETIC_BASE", "p.go", 7, 11}, "return a + b*2", 7},
		{Mutant{"ARITHMETIC_BASE", "p.go", 7, 14}, "return a - b/2", 7},
	}
	for _, c := range cases {
		out, err := Apply(src, c.m)
		require.NoError(t, err, c.m.String())
		assert.Equal(t, c.want, sourceLine(out, c.line), c.m.String())
	}
	_, err := Apply(src, Mutant{"ARITHMETIC_BASE", "p.go", 4, 7})
	assert.ErrorContains(t, err, "not mutated by")
	_, err = Apply(src, Mutant{"ARITHMETIC_BASE", "p.go", 4, 8})
	assert.ErrorContains(t, err, "no token starts there")
	_, err = Apply(src, Mutant{"NO_SUCH", "p.go", 4, 7})
	assert.ErrorContains(t, err, "unknown mutation type")
}
