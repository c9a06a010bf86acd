package experiments

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/experiments/lab"
	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/nn"
	"github.com/softdiff/softdiff/soft"
)

// Learned kernel denoisers in graded-generation: networks of package nn
// trained on a kernel's forward process (train/ --objective kernel, the
// kernel's tables from WriteKernelTable) run the kernel's reverse process
// beside the exact oracle, and their error against the exact posterior
// under the kernel's evidence is measured by time.

// modelNetwork names the learned denoisers' rows.
const modelNetwork = "network"

// gradedNetTestbeds are the testbeds the learned kernel denoisers were
// trained on; graded-generation runs, on each, every generator whose
// kernel has a shipped network, with the network and with the exact oracle.
var gradedNetTestbeds = []string{"kjv-hmm-32"}

// gradedNetTimes are the time bins of the kernel model-error table: j/8,
// points of the training grid j/64 and of every sampler grid of the sweep.
var gradedNetTimes = []float64{0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1}

// gradedNetName returns the shipped network for kernel key on testbed tb,
// or "" when there is none: TESTBED-kernel-KEY, trained on that kernel's
// forward process; for the masking (absorbing) kernel the masked-diffusion
// network TESTBED-mdlm, whose training process is the absorbing kernel's
// (its evidence does not depend on the schedule).
func gradedNetName(tbName, key string) string {
	name := tbName + "-kernel-" + key
	if key == "absorbing" {
		name = tbName + "-mdlm"
	}
	if slices.Contains(nn.ShippedNames(), name) {
		return name
	}
	return ""
}

// gradedNet is the denoiser of the network model: the shipped network for
// g's kernel on tb, checked to be trained on that testbed and process.
func gradedNet(tb *testbed, _ kernels.Kernel, g gradedGen) (decode.Denoiser, bool, error) {
	name := gradedNetName(tb.name, g.kernel)
	if name == "" {
		return nil, false, nil
	}
	m, mtb, err := meOpen(name)
	if err != nil {
		return nil, false, err
	}
	if mtb.name != tb.name {
		return nil, false, fmt.Errorf("model %s is trained on %s, not %s", name, mtb.name, tb.name)
	}
	cfg := m.Config()
	want := "kernel"
	if g.kernel == "absorbing" {
		want = "mdlm"
	}
	if cfg.Objective != want {
		return nil, false, fmt.Errorf("model %s has objective %q, want %q", name, cfg.Objective, want)
	}
	if want == "kernel" {
		var tr struct {
			Kernel struct {
				Name string `json:"name"`
			} `json:"kernel"`
		}
		if err := json.Unmarshal(cfg.Training, &tr); err != nil || tr.Kernel.Name != g.kernel {
			return nil, false, fmt.Errorf("model %s: training record names kernel %q, want %q (%v)", name, tr.Kernel.Name, g.kernel, err)
		}
	}
	return m, true, nil
}

// gradedNetUnits are the units of the learned-network testbeds: the exact
// samples, every generator with a network under both models, and the
// kernel model-error rows.
func gradedNetUnits(cfg lab.Config) []lab.Unit {
	var us []lab.Unit
	for _, tbName := range gradedNetTestbeds {
		var gens []gradedGen
		kernelSeen := map[string]bool{}
		var keys []string
		for _, g := range gradedGens {
			if gradedNetName(tbName, g.kernel) == "" {
				continue
			}
			gens = append(gens, g)
			if !kernelSeen[g.kernel] {
				kernelSeen[g.kernel] = true
				keys = append(keys, g.kernel)
			}
		}
		if len(gens) == 0 {
			continue
		}
		us = append(us, lab.Unit{Key: tbName + "/exact-sample", Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
			return gradedReference(ctx, cfg, tbName, seed)
		}})
		for _, m := range gradedModels {
			for _, g := range gens {
				us = append(us, lab.Unit{Key: tbName + "/" + m.name + "/" + g.name, Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
					return gradedRun(ctx, cfg, tbName, m, g, seed)
				}})
			}
		}
		for _, key := range keys {
			us = append(us, lab.Unit{Key: tbName + "/model-error/" + key, Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
				return gradedNetError(ctx, cfg, tbName, key, seed)
			}})
		}
	}
	return us
}

// gradedNetError draws, at every time bin, x_0 from the testbed, x_t from
// the kernel's forward sampler and the evidence decode.KernelEvidence hands
// a denoiser, and compares the network's beliefs with the exact posterior
// under that evidence at every position whose row is not one-hot.
func gradedNetError(ctx context.Context, cfg lab.Config, tbName, key string, seed uint64) ([]lab.Row, error) {
	tb, err := getTestbed(tbName)
	if err != nil {
		return nil, err
	}
	su, err := gradedSetupFor(tb, cfg.Int("neighbours"), gradedSteps(cfg))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tbName, err)
	}
	k := su.kernels[key]
	fs, ok := k.(kernels.ForwardSampler)
	if !ok {
		return nil, fmt.Errorf("kernel %s: %T has no forward sampler", key, k)
	}
	name := gradedNetName(tbName, key)
	m, _, err := meOpen(name)
	if err != nil {
		return nil, err
	}
	L, K, mask := tb.m.Len(), su.K, su.mask
	n := cfg.Int("error-sequences")
	x0, xt := make([]int32, L), make([]int32, L)
	evs, z, xs := make([]*soft.Dense, n), make([][]float32, n), make([][]int32, n)
	for j := range evs {
		evs[j], z[j], xs[j] = soft.NewDense(L, K), make([]float32, L*K), make([]int32, L)
	}
	exact := soft.NewDense(L, K)
	var rows []lab.Row
	for bi, t := range gradedNetTimes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for j := 0; j < n; j++ {
			rng := soft.BlockRand(lab.Mix(seed+uint64(bi)), j)
			tb.m.Sample(x0, rng)
			fs.Sample(xt, x0, t, rng)
			copy(xs[j], x0)
			if err := decode.KernelEvidence(evs[j], k, xt, t, mask); err != nil {
				return nil, fmt.Errorf("%s, t = %v: %w", key, t, err)
			}
		}
		if err := m.LogitsBatch(z, evs); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		var st meStats
		for j := 0; j < n; j++ {
			if err := tb.m.Denoise(exact, evs[j], t); err != nil {
				return nil, fmt.Errorf("%s: exact posterior: %w", name, err)
			}
			for i := 0; i < L; i++ {
				if isTokenRow(evs[j].Row(i), int(mask)) {
					continue
				}
				st.add(exact.Row(i), z[j][i*K:(i+1)*K], xs[j][i])
			}
		}
		if len(st.kl) == 0 {
			continue
		}
		np := float64(len(st.kl))
		rows = append(rows, lab.Row{Table: "kernel-model-error", Labels: []string{tbName, name, key, ftoa(t)},
			Values: map[string]lab.Obs{
				"kl": lab.Scalar(st.meanKL()), "kl-p99": lab.Scalar(st.p99()), "ce": lab.Scalar(st.ce / np), "floor": lab.Scalar(st.h / np),
				"ce-gap": lab.Scalar((st.ce - st.h) / np), "positions": lab.Scalar(np),
			}})
	}
	return rows, nil
}

// gradedNetVerdict compares, on the learned-network testbeds, each
// generator run with the network against the same generator with the
// exact oracle, and summarises the networks' model error.
func gradedNetVerdict(r *lab.Result) []string {
	gen, me := r.Table("generation"), r.Table("kernel-model-error")
	if gen == nil {
		return nil
	}
	var vs []string
	for _, tbName := range gradedNetTestbeds {
		metric := gradedQuality(tbName)
		floor, _ := gen.Get(metric, "testbed="+tbName, "generator=exact-sample")
		for _, g := range gradedGens {
			net := gen.Select("testbed="+tbName, "model="+modelNetwork, "generator="+g.name)
			if len(net) == 0 {
				continue
			}
			var cells []string
			for _, row := range net {
				st := gen.Label(row, "steps")
				en := gen.Cell(row, metric)
				eo, ok := gen.Get(metric, "testbed="+tbName, "model="+oracleExact, "generator="+g.name, "steps="+st)
				if !ok || !en.Valid() || !eo.Valid() {
					continue
				}
				cells = append(cells, fmt.Sprintf("%s steps %s vs %s (%s)", st, lab.Format(en, 3), lab.Format(eo, 3),
					relWord(en, eo, "better", "not distinguishable", "worse")))
			}
			line := fmt.Sprintf("%s, %s (%s; exact samples %s): network vs exact oracle: %s", tbName, g.name, metric,
				lab.Format(floor, 3), strings.Join(cells, "; "))
			if me != nil {
				var kls []string
				for _, row := range me.Select("testbed="+tbName, "kernel="+g.kernel) {
					if e := me.Cell(row, "kl"); e.Valid() {
						t, _ := strconv.ParseFloat(me.Label(row, "t"), 64)
						kls = append(kls, fmt.Sprintf("t %.3g: %.3f", t, e.Value))
					}
				}
				if len(kls) > 0 {
					line += "; the network's mean KL to the exact posterior under the kernel's evidence by time: " + strings.Join(kls, ", ")
				}
			}
			vs = append(vs, line+".")
		}
	}
	return vs
}
