package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/softdiff/softdiff/experiments"
)

const exportKernelSynopsis = `export-kernel --testbed NAME --kernel NAME --out FILE.safetensors [flags]

Writes the forward process of one of the graded-generation experiment's
kernels (built exactly as the experiment builds it for that testbed: the
PPMI token geometry, kNN graph, hierarchy, schedules) tabulated on the
grid t_j = j/T, j = 1..T, as a safetensors file with float32 tensors
times [T] and transition [T, K, K], transition[j, v, x] = P(x_t = x | x_0 = v)
at t = t_j. train/train.py --objective kernel --kernel FILE reads it (and
validates it); the format is in docs/models.md. Kernels: %s.`

func cmdExportKernel(args []string, stdout, stderr io.Writer) error {
	names := experiments.GradedKernelNames()
	fs := newFlags("export-kernel", fmt.Sprintf(exportKernelSynopsis, strings.Join(names, ", ")), stderr)
	tbName := fs.String("testbed", "", "testbed name (required), e.g. kjv-hmm-32")
	kernel := fs.String("kernel", "", "kernel name (required): "+strings.Join(names, ", "))
	times := fs.Int("times", 64, "grid size T (times j/T, j = 1..T)")
	neighbours := fs.Int("neighbours", 8, "k of the KJV kNN graph (graded-generation's parameter)")
	out := fs.String("out", "", "output file, ending in .safetensors (required)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("export-kernel: unexpected argument %q", pos[0])
	case *tbName == "":
		return usagef("export-kernel: --testbed is required")
	case *kernel == "":
		return usagef("export-kernel: --kernel is required (one of %s)", strings.Join(names, ", "))
	case *times < 1 || *times > 4096:
		return usagef("export-kernel: --times %d: want 1…4096", *times)
	case *neighbours < 1 || *neighbours > 64:
		return usagef("export-kernel: --neighbours %d: want 1…64", *neighbours)
	case !strings.HasSuffix(*out, ".safetensors"):
		return usagef("export-kernel: --out %q: want a file name ending in .safetensors", *out)
	}
	if _, err := experiments.TestbedModel(*tbName); err != nil {
		return usagef("export-kernel: %v", err)
	}
	known := false
	for _, n := range names {
		known = known || n == *kernel
	}
	if !known {
		return usagef("export-kernel: unknown kernel %q (one of %s)", *kernel, strings.Join(names, ", "))
	}
	var info experiments.KernelTableInfo
	err = writeAtomic(*out, func(f io.Writer) error {
		var err error
		info, err = experiments.WriteKernelTable(f, *tbName, *kernel, *times, *neighbours)
		return err
	})
	if err != nil {
		return fmt.Errorf("export-kernel: %w", err)
	}
	fmt.Fprintf(stdout, "wrote kernel %s of %s (%d states, MASK %d) on %d times to %s\n",
		info.Kernel, info.Testbed, info.States, info.Mask, info.Times, *out)
	return nil
}
