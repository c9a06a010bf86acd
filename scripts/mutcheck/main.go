// Command mutcheck re-tests single mutants named the way go-gremlins
// reports them, against any test command, without touching the tree: each
// mutant is applied through `go test -overlay`, so several can run side by
// side and an interrupted run leaves the sources as they were.
//
// Use it to recheck the survivors of a gremlins run that was restricted to
// some tests (RUN=... scripts/mutation.sh) against the whole suite, or to
// confirm that a new test kills a mutant:
//
//	grep LIVED /tmp/mutation/decode.log |
//	  go run ./scripts/mutcheck -pkg ./decode -args '-short -failfast'
//
// Input lines hold "TYPE at FILE:LINE:COL" (the gremlins log format; FILE
// is relative to -pkg); output is one line per mutant, "KILLED", "LIVED",
// "TIMED OUT" or "NOT VIABLE" (it does not compile), then the mutant and
// the source line as mutated. The mutation types and their operator
// replacements are gremlins' defaults (v0.6.0).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/scanner"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// replacements maps a mutation type to the operator each token becomes.
var replacements = map[string]map[token.Token]string{
	"CONDITIONALS_BOUNDARY": {token.LSS: "<=", token.LEQ: "<", token.GTR: ">=", token.GEQ: ">"},
	"CONDITIONALS_NEGATION": {token.EQL: "!=", token.NEQ: "==", token.LSS: ">=", token.LEQ: ">", token.GTR: "<=", token.GEQ: "<"},
	"ARITHMETIC_BASE":       {token.ADD: "-", token.SUB: "+", token.MUL: "/", token.QUO: "*", token.REM: "*"},
	"INVERT_NEGATIVES":      {token.SUB: "+"},
	"INCREMENT_DECREMENT":   {token.INC: "--", token.DEC: "++"},
	"INVERT_LOGICAL":        {token.LAND: "||", token.LOR: "&&"},
	"INVERT_ASSIGNMENTS":    {token.ADD_ASSIGN: "-=", token.SUB_ASSIGN: "+=", token.MUL_ASSIGN: "/=", token.QUO_ASSIGN: "*=", token.REM_ASSIGN: "*="},
	"INVERT_BITWISE":        {token.AND: "|", token.OR: "&", token.XOR: "&"},
}

// Mutant is one mutation: a type at a 1-based line and byte column.
type Mutant struct {
	Type      string
	File      string
	Line, Col int
}

func (m Mutant) String() string { return fmt.Sprintf("%s at %s:%d:%d", m.Type, m.File, m.Line, m.Col) }

var lineRE = regexp.MustCompile(`([A-Z_]+) at (\S+?):(\d+):(\d+)`)

// ParseMutant reads the first "TYPE at FILE:LINE:COL" in s.
func ParseMutant(s string) (Mutant, bool) {
	g := lineRE.FindStringSubmatch(s)
	if g == nil {
		return Mutant{}, false
	}
	l, err1 := strconv.Atoi(g[3])
	c, err2 := strconv.Atoi(g[4])
	if err1 != nil || err2 != nil || l < 1 || c < 1 {
		return Mutant{}, false
	}
	return Mutant{Type: g[1], File: g[2], Line: l, Col: c}, true
}

// Apply returns src with the operator token of m replaced, or an error
// naming why it cannot be: no token starts at the position, or the token
// there is not one the type mutates.
func Apply(src []byte, m Mutant) ([]byte, error) {
	rep, ok := replacements[m.Type]
	if !ok {
		return nil, fmt.Errorf("%v: unknown mutation type %q", m, m.Type)
	}
	fset := token.NewFileSet()
	f := fset.AddFile(m.File, -1, len(src))
	var s scanner.Scanner
	var scanErr error
	s.Init(f, src, func(pos token.Position, msg string) { scanErr = fmt.Errorf("%v: %s", pos, msg) }, 0)
	for {
		pos, tok, _ := s.Scan()
		if tok == token.EOF {
			break
		}
		p := fset.Position(pos)
		if p.Line != m.Line || p.Column != m.Col {
			continue
		}
		to, ok := rep[tok]
		if !ok {
			return nil, fmt.Errorf("%v: token %q is not mutated by %s", m, tok, m.Type)
		}
		off := f.Offset(pos)
		out := make([]byte, 0, len(src)+1)
		out = append(out, src[:off]...)
		out = append(out, to...)
		out = append(out, src[off+len(tok.String()):]...)
		return out, nil
	}
	if scanErr != nil {
		return nil, scanErr
	}
	return nil, fmt.Errorf("%v: no token starts there", m)
}

func sourceLine(src []byte, line int) string {
	ls := bytes.Split(src, []byte("\n"))
	if line-1 < len(ls) {
		return strings.TrimSpace(string(ls[line-1]))
	}
	return ""
}

type result struct {
	status string
	detail string
}

func check(ctx context.Context, pkg, args string, timeout time.Duration, m Mutant, dir string) result {
	path := filepath.Join(pkg, m.File)
	src, err := os.ReadFile(path)
	if err != nil {
		return result{"ERROR", err.Error()}
	}
	mut, err := Apply(src, m)
	if err != nil {
		return result{"ERROR", err.Error()}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return result{"ERROR", err.Error()}
	}
	// The type is part of the name: two mutants at one position (say
	// CONDITIONALS_BOUNDARY and CONDITIONALS_NEGATION) run side by side
	// must not overwrite each other's file.
	mf := filepath.Join(dir, fmt.Sprintf("m%d_%d_%s_%s", m.Line, m.Col, m.Type, filepath.Base(m.File)))
	if err := os.WriteFile(mf, mut, 0o644); err != nil {
		return result{"ERROR", err.Error()}
	}
	ov, _ := json.Marshal(map[string]map[string]string{"Replace": {abs: mf}})
	of := mf + ".json"
	if err := os.WriteFile(of, ov, 0o644); err != nil {
		return result{"ERROR", err.Error()}
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmdArgs := append([]string{"test", "-count=1", "-overlay=" + of}, strings.Fields(args)...)
	cmdArgs = append(cmdArgs, pkg)
	cmd := exec.CommandContext(cctx, "go", cmdArgs...)
	out, err := cmd.CombinedOutput()
	line := sourceLine(mut, m.Line)
	switch {
	case err == nil:
		return result{"LIVED", line}
	case errors.Is(cctx.Err(), context.DeadlineExceeded):
		return result{"TIMED OUT", line}
	case bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")):
		return result{"NOT VIABLE", line}
	default:
		return result{"KILLED", line + "  <- " + firstFail(out)}
	}
}

func firstFail(out []byte) string {
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "--- FAIL") || strings.Contains(l, "panic:") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

func main() {
	pkg := flag.String("pkg", "", "package directory the mutant files are relative to, e.g. ./decode")
	args := flag.String("args", "-short -failfast", "flags for go test")
	jobs := flag.Int("j", 1, "mutants tested side by side")
	timeout := flag.Duration("timeout", 5*time.Minute, "time limit of one mutant's go test")
	flag.Parse()
	if *pkg == "" {
		fmt.Fprintln(os.Stderr, "mutcheck: -pkg is required")
		os.Exit(2)
	}
	var ms []Mutant
	in := io.Reader(os.Stdin)
	if flag.NArg() > 0 {
		in = strings.NewReader(strings.Join(flag.Args(), "\n"))
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if m, ok := ParseMutant(sc.Text()); ok {
			ms = append(ms, m)
		}
	}
	dir, err := os.MkdirTemp("", "mutcheck")
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutcheck:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	res := make([]result, len(ms))
	sem := make(chan struct{}, max(*jobs, 1))
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0 // print in input order as results arrive
	done := make([]bool, len(ms))
	counts := map[string]int{}
	for i, m := range ms {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			r := check(context.Background(), *pkg, *args, *timeout, m, dir)
			<-sem
			mu.Lock()
			defer mu.Unlock()
			res[i], done[i] = r, true
			for next < len(ms) && done[next] {
				fmt.Printf("%-10s %v  %s\n", res[next].status, ms[next], res[next].detail)
				counts[res[next].status]++
				next++
			}
		}()
	}
	wg.Wait()
	keys := []string{"KILLED", "LIVED", "TIMED OUT", "NOT VIABLE", "ERROR"}
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", strings.ToLower(k), counts[k]))
	}
	fmt.Println("mutcheck:", strings.Join(parts, ", "))
}
