package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	_ "github.com/softdiff/softdiff/experiments"
	"github.com/softdiff/softdiff/experiments/lab"
)

// newProgress returns a progress bar on a terminal and slog lines otherwise.
func newProgress(stderr io.Writer, log *slog.Logger) lab.Progress {
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barProgress{w: stderr}
	}
	return &logProgress{log: log}
}

type barProgress struct {
	w    io.Writer
	name string
	bar  *progressbar.ProgressBar
}

// The bar's own prediction assumes items of equal cost; the description
// carries the runner's cost-weighted estimate instead.
func (p *barProgress) Begin(name string, total int) {
	p.name = name
	p.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(name),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
	)
}

func (p *barProgress) Update(s lab.ProgressState) {
	if s.Remaining >= 0 && s.Done < s.Total {
		p.bar.Describe(fmt.Sprintf("%s (about %s left)", p.name, roundETA(s.Remaining)))
	}
	p.bar.Set(s.Done)
}

func (p *barProgress) End() { p.bar.Finish() }

// roundETA rounds an estimate to a precision it can honestly claim.
func roundETA(d time.Duration) time.Duration {
	if d >= time.Minute {
		return d.Round(10 * time.Second)
	}
	return d.Round(time.Second)
}

// logProgress writes a line at the start, about every 10% or 10 s, and at the
// end.
type logProgress struct {
	log         *slog.Logger
	name        string
	total, done int
	start, last time.Time
	lastFrac    int
}

func (p *logProgress) Begin(name string, total int) {
	p.name, p.total, p.done, p.lastFrac = name, total, 0, 0
	p.start, p.last = time.Now(), time.Now()
	p.log.Info("experiment start", "name", name, "items", total)
}

func (p *logProgress) Update(s lab.ProgressState) {
	p.done = s.Done
	frac := 10 * p.done / max(1, p.total)
	if frac > p.lastFrac || time.Since(p.last) > 10*time.Second {
		p.lastFrac, p.last = frac, time.Now()
		if p.done < p.total {
			args := []any{"name", p.name, "done", p.done, "items", p.total, "elapsed", s.Elapsed.Round(time.Millisecond)}
			if s.Remaining >= 0 {
				args = append(args, "remaining", roundETA(s.Remaining))
			}
			p.log.Info("progress", args...)
		}
	}
}

func (p *logProgress) End() {
	p.log.Info("experiment end", "name", p.name, "done", p.done, "items", p.total, "elapsed", time.Since(p.start).Round(time.Millisecond))
}
