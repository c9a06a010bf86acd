package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	_ "github.com/softdiff/softdiff/experiments"
	"github.com/softdiff/softdiff/experiments/lab"
)

// k8sJob is the part of a Kubernetes batch/v1 Job that a sharded sweep
// relies on.
type k8sJob struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Spec       struct {
		Completions    *int   `yaml:"completions"`
		Parallelism    *int   `yaml:"parallelism"`
		CompletionMode string `yaml:"completionMode"`
		Template       struct {
			Spec struct {
				RestartPolicy string         `yaml:"restartPolicy"`
				Containers    []k8sContainer `yaml:"containers"`
				Volumes       []struct {
					Name string `yaml:"name"`
					PVC  *struct {
						ClaimName string `yaml:"claimName"`
					} `yaml:"persistentVolumeClaim"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sContainer struct {
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

// readJob parses docs/jobs/NAME and checks what every Job of a sweep needs:
// batch/v1 Job, pods that do not restart always, one container with a
// command, its results volume a persistent volume claim. It returns the Job,
// its container, and the claim name and mount path of that volume.
func readJob(t *testing.T, name string) (job k8sJob, c k8sContainer, claim, mount string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "jobs", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &job); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if job.APIVersion != "batch/v1" || job.Kind != "Job" {
		t.Fatalf("%s is %s %s, want batch/v1 Job", name, job.APIVersion, job.Kind)
	}
	ps := job.Spec.Template.Spec
	if ps.RestartPolicy != "Never" && ps.RestartPolicy != "OnFailure" {
		t.Errorf("%s: restartPolicy %q, want Never or OnFailure", name, ps.RestartPolicy)
	}
	if len(ps.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", name, len(ps.Containers))
	}
	c = ps.Containers[0]
	if len(c.Command) == 0 {
		t.Fatalf("%s: the container has no command", name)
	}
	if len(c.VolumeMounts) != 1 {
		t.Fatalf("%s: %d volume mounts, want 1 (the results)", name, len(c.VolumeMounts))
	}
	for _, v := range ps.Volumes {
		if v.Name == c.VolumeMounts[0].Name && v.PVC != nil {
			return job, c, v.PVC.ClaimName, c.VolumeMounts[0].MountPath
		}
	}
	t.Fatalf("%s: volume %q is not a persistentVolumeClaim of the pod", name, c.VolumeMounts[0].Name)
	return
}

// podArgs runs the container's command line (command, then args, as the
// kubelet does) under the real shell it names, with env and the container's
// own environment, and an argv recorder standing in for the softdiff binary
// on PATH; it returns the arguments softdiff would get.
func podArgs(t *testing.T, c k8sContainer, env ...string) []string {
	t.Helper()
	bin := t.TempDir()
	rec := "#!/bin/sh\nprintf '%s\\0' \"$@\"\n" // NUL-separated, as passed
	if err := os.WriteFile(filepath.Join(bin, "softdiff"), []byte(rec), 0o755); err != nil {
		t.Fatal(err)
	}
	argv := append(append([]string{}, c.Command...), c.Args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Env = append(cmd.Env, env...)
	for _, e := range c.Env {
		cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%q: %v\n%s", argv, err, stderr.Bytes())
	}
	if len(out) == 0 {
		t.Fatalf("%q did not run softdiff", argv)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

// checkFlags asserts that softdiff accepts every flag in args: with --help
// last, the command parses all of them and stops before any work.
func checkFlags(t *testing.T, what string, args []string) {
	t.Helper()
	var usage bytes.Buffer
	if err := run(context.Background(), append(args, "--help"), &usage, &usage); !errors.Is(err, errHelp) {
		t.Errorf("%s: softdiff %q: %v", what, args, err)
	}
}

// underDir reports whether path lies inside dir.
func underDir(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != "." && !strings.HasPrefix(rel, "..")
}

// TestJobManifests checks docs/jobs/indexed-job.yaml and merge-job.yaml: an
// Indexed Job whose pod k, with JOB_COMPLETION_INDEX=k as Kubernetes sets it,
// runs 'softdiff run ... --shard k/n' with n the Job's completions, into an
// output directory of its own on the results volume; and a merge Job on the
// same volume whose inputs cover every shard's directory. All flags must be
// ones the current CLI accepts.
func TestJobManifests(t *testing.T) {
	job, c, claim, mount := readJob(t, "indexed-job.yaml")
	s := job.Spec
	if s.CompletionMode != "Indexed" {
		t.Errorf("completionMode %q, want Indexed (pods get JOB_COMPLETION_INDEX)", s.CompletionMode)
	}
	if s.Completions == nil || *s.Completions < 1 {
		t.Fatal("completions missing or below 1: want the shard count")
	}
	n := *s.Completions
	if s.Parallelism == nil {
		t.Errorf("no parallelism (Kubernetes would run one pod at a time)")
	} else if p := *s.Parallelism; p < 1 || p > n {
		t.Errorf("parallelism %d, want 1 to completions (%d)", p, n)
	}
	shardOut := make([]string, n)
	owner := map[string]int{}
	for k := range n {
		args := podArgs(t, c, fmt.Sprintf("JOB_COMPLETION_INDEX=%d", k))
		if len(args) < 2 || args[0] != "run" {
			t.Fatalf("pod %d runs softdiff %q, want softdiff run NAME|all ...", k, args)
		}
		if _, ok := lab.Lookup(args[1]); args[1] != "all" && !ok {
			t.Errorf("pod %d runs unknown experiment %q", k, args[1])
		}
		shard, out := flagValue(args, "--shard"), flagValue(args, "--out")
		sh, err := lab.ParseShard(shard)
		if err != nil || sh.I != k || sh.N != n {
			t.Errorf("pod %d: --shard %q, want %d/%d (index/completions)", k, shard, k, n)
		}
		if !underDir(out, mount) {
			t.Errorf("pod %d: --out %q is not on the results volume %s", k, out, mount)
		}
		if j, dup := owner[out]; dup {
			t.Errorf("pods %d and %d both write --out %s", j, k, out)
		}
		owner[out], shardOut[k] = k, out
		checkFlags(t, fmt.Sprintf("pod %d", k), args)
	}

	merge, mc, mclaim, mmount := readJob(t, "merge-job.yaml")
	if merge.Spec.Completions != nil && *merge.Spec.Completions != 1 {
		t.Errorf("merge-job.yaml: completions %d, want 1", *merge.Spec.Completions)
	}
	if mclaim != claim || mmount != mount {
		t.Errorf("merge-job.yaml mounts claim %q at %s, want the shards' %q at %s", mclaim, mmount, claim, mount)
	}
	args := podArgs(t, mc)
	if args[0] != "merge" {
		t.Fatalf("merge-job.yaml runs softdiff %q, want softdiff merge ...", args)
	}
	checkFlags(t, "merge-job.yaml", args)
	mout := flagValue(args, "--out")
	if !underDir(mout, mount) {
		t.Errorf("merge-job.yaml: --out %q is not on the results volume %s", mout, mount)
	}
	// The inputs are what remains after the flags; the results volume is not
	// mounted here, so a shell glob stays a pattern.
	var inputs []string
	for i := 1; i < len(args); i++ {
		if strings.HasPrefix(args[i], "-") {
			if !strings.Contains(args[i], "=") && args[i] != "--partial" {
				i++
			}
			continue
		}
		inputs = append(inputs, args[i])
	}
	for k, out := range shardOut {
		covered := false
		for _, in := range inputs {
			if m, err := filepath.Match(in, out); err == nil && m {
				covered = true
			}
		}
		if !covered {
			t.Errorf("merge-job.yaml: inputs %q do not include shard %d's directory %s", inputs, k, out)
		}
	}
	for _, in := range inputs {
		if m, _ := filepath.Match(in, mout); m {
			t.Errorf("merge-job.yaml: input %q includes the merge's own --out %s", in, mout)
		}
	}
}

// flagValue returns the value of the last --name v or --name=v in args, or "".
func flagValue(args []string, name string) string {
	v := ""
	for i, a := range args {
		if a == name && i+1 < len(args) {
			v = args[i+1]
		} else if val, ok := strings.CutPrefix(a, name+"="); ok {
			v = val
		}
	}
	return v
}
