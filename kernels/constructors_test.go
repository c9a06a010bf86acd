package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

// must returns v and panics on err: for kernels a test builds from valid
// arguments.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestConstructorsRejectBadArguments: every constructor of the package
// returns an error (never panics) on arguments from outside: sizes, MASK
// ids, rates, options, graphs, hierarchies and data distributions.
func TestConstructorsRejectBadArguments(t *testing.T) {
	path := must(NewKNNAdjacency([]int32{1, 0}, 2, 1))
	cases := []struct {
		name string
		f    func() error
	}{
		{"NewAbsorbing K=1", func() error { _, err := NewAbsorbing(1, 0, nil); return err }},
		{"NewAbsorbing mask=-1", func() error { _, err := NewAbsorbing(4, soft.NoToken, nil); return err }},
		{"NewAbsorbing mask=K", func() error { _, err := NewAbsorbing(4, 4, nil); return err }},
		{"NewUniform mask=K", func() error { _, err := NewUniform(4, 4, nil); return err }},
		{"NewUniform one token", func() error { _, err := NewUniform(2, 1, nil); return err }},
		{"NewUniform K=0", func() error { _, err := NewUniform(0, soft.NoToken, nil); return err }},
		{"NewGaussian K=1", func() error { _, err := NewGaussian(1, nil); return err }},
		{"NewGaussian K=-5", func() error { _, err := NewGaussian(-5, nil); return err }},
		{"NewInfoAbsorbing nil rates", func() error { _, err := NewInfoAbsorbing(3, 2, nil, nil); return err }},
		{"NewInfoAbsorbing NaN rate", func() error { _, err := NewInfoAbsorbing(3, 2, []float64{math.NaN(), 1, 1}, nil); return err }},
		{"NewGraph nil adjacency", func() error { _, err := NewGraph(nil, soft.NoToken, nil, GraphOptions{}); return err }},
		{"NewGraph empty adjacency", func() error { _, err := NewGraph(&Adjacency{}, soft.NoToken, nil, GraphOptions{}); return err }},
		{"NewGraph decreasing row pointers", func() error {
			_, err := NewGraph(&Adjacency{N: 2, Indptr: []int{0, 5, 1}, Indices: []int32{1}, Weights: []float64{1}}, soft.NoToken, nil, GraphOptions{})
			return err
		}},
		{"NewGraph mask past N", func() error { _, err := NewGraph(path, 3, nil, GraphOptions{}); return err }},
		{"NewGraph infinite scale", func() error {
			_, err := NewGraph(path, soft.NoToken, nil, GraphOptions{Scale: math.Inf(1)})
			return err
		}},
		{"NewGraph negative tolerance", func() error { _, err := NewGraph(path, soft.NoToken, nil, GraphOptions{Tol: -1}); return err }},
		{"NewHierarchical nil", func() error { _, err := NewHierarchical(nil, soft.NoToken, nil, nil); return err }},
		{"NewHierarchical bad label", func() error {
			_, err := NewHierarchical(&Hierarchy{N: 3, Labels: [][]int32{{0, 7, -1}}}, soft.NoToken, nil, nil)
			return err
		}},
		{"NewKNNAdjacency n<0", func() error { _, err := NewKNNAdjacency(nil, -1, 0); return err }},
		{"NewKNNAdjacency k=0", func() error { _, err := NewKNNAdjacency(nil, 5, 0); return err }},
		{"NewKNNAdjacency n·k overflows", func() error { _, err := NewKNNAdjacency(nil, 1<<62, 4); return err }},
		{"NewKNNAdjacency self loop", func() error { _, err := NewKNNAdjacency([]int32{0, 0}, 2, 1); return err }},
		{"KNN n·d overflows", func() error { _, err := KNN(nil, 1<<62, 4, KNNOptions{K: 1}); return err }},
		{"BisectHierarchy n·d overflows", func() error { _, err := BisectHierarchy(nil, 1<<62, 4); return err }},
		{"NewInfoWarp nil kernel", func() error { _, err := NewInfoWarp(nil, []float32{0.5, 0.5}, 4); return err }},
		{"NewInfoWarp p0 length", func() error {
			_, err := NewInfoWarp(must(NewUniform(4, 3, nil)), []float32{0.5, 0.5}, 4)
			return err
		}},
		{"NewInfoWarp p0 zero entropy", func() error {
			_, err := NewInfoWarp(must(NewUniform(4, 3, nil)), []float32{1, 0, 0, 0}, 4)
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("panic: %v", r)
						t.Errorf("panicked instead of returning an error: %v", r)
					}
				}()
				err = c.f()
			}()
			if err == nil {
				t.Error("no error")
			}
		})
	}
}
