package kernels

import (
	"math"
	"testing"

	"github.com/softdiff/softdiff/internal/testutil"

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
	testutil.ErrorsNotPanics(t, []testutil.Case{
		{Name: "NewAbsorbing K=1", F: func() error { _, err := NewAbsorbing(1, 0, nil); return err }},
		{Name: "NewAbsorbing mask=-1", F: func() error { _, err := NewAbsorbing(4, soft.NoToken, nil); return err }},
		{Name: "NewAbsorbing mask=K", F: func() error { _, err := NewAbsorbing(4, 4, nil); return err }},
		{Name: "NewUniform mask=K", F: func() error { _, err := NewUniform(4, 4, nil); return err }},
		{Name: "NewUniform one token", F: func() error { _, err := NewUniform(2, 1, nil); return err }},
		{Name: "NewUniform K=0", F: func() error { _, err := NewUniform(0, soft.NoToken, nil); return err }},
		{Name: "NewGaussian K=1", F: func() error { _, err := NewGaussian(1, nil); return err }},
		{Name: "NewGaussian K=-5", F: func() error { _, err := NewGaussian(-5, nil); return err }},
		{Name: "NewInfoAbsorbing nil rates", F: func() error { _, err := NewInfoAbsorbing(3, 2, nil, nil); return err }},
		{Name: "NewInfoAbsorbing NaN rate", F: func() error { _, err := NewInfoAbsorbing(3, 2, []float64{math.NaN(), 1, 1}, nil); return err }},
		{Name: "NewGraph nil adjacency", F: func() error { _, err := NewGraph(nil, soft.NoToken, nil, GraphOptions{}); return err }},
		{Name: "NewGraph empty adjacency", F: func() error { _, err := NewGraph(&Adjacency{}, soft.NoToken, nil, GraphOptions{}); return err }},
		{Name: "NewGraph decreasing row pointers", F: func() error {
			_, err := NewGraph(&Adjacency{N: 2, Indptr: []int{0, 5, 1}, Indices: []int32{1}, Weights: []float64{1}}, soft.NoToken, nil, GraphOptions{})
			return err
		}},
		{Name: "NewGraph mask past N", F: func() error { _, err := NewGraph(path, 3, nil, GraphOptions{}); return err }},
		{Name: "NewGraph infinite scale", F: func() error {
			_, err := NewGraph(path, soft.NoToken, nil, GraphOptions{Scale: math.Inf(1)})
			return err
		}},
		{Name: "NewGraph negative tolerance", F: func() error { _, err := NewGraph(path, soft.NoToken, nil, GraphOptions{Tol: -1}); return err }},
		{Name: "NewHierarchical nil", F: func() error { _, err := NewHierarchical(nil, soft.NoToken, nil, nil); return err }},
		{Name: "NewHierarchical bad label", F: func() error {
			_, err := NewHierarchical(&Hierarchy{N: 3, Labels: [][]int32{{0, 7, -1}}}, soft.NoToken, nil, nil)
			return err
		}},
		{Name: "NewKNNAdjacency n<0", F: func() error { _, err := NewKNNAdjacency(nil, -1, 0); return err }},
		{Name: "NewKNNAdjacency k=0", F: func() error { _, err := NewKNNAdjacency(nil, 5, 0); return err }},
		{Name: "NewKNNAdjacency n·k overflows", F: func() error { _, err := NewKNNAdjacency(nil, 1<<62, 4); return err }},
		{Name: "NewKNNAdjacency self loop", F: func() error { _, err := NewKNNAdjacency([]int32{0, 0}, 2, 1); return err }},
		{Name: "KNN n·d overflows", F: func() error { _, err := KNN(nil, 1<<62, 4, KNNOptions{K: 1}); return err }},
		{Name: "BisectHierarchy n·d overflows", F: func() error { _, err := BisectHierarchy(nil, 1<<62, 4); return err }},
		{Name: "NewInfoWarp nil kernel", F: func() error { _, err := NewInfoWarp(nil, []float32{0.5, 0.5}, 4); return err }},
		{Name: "NewInfoWarp p0 length", F: func() error {
			_, err := NewInfoWarp(must(NewUniform(4, 3, nil)), []float32{0.5, 0.5}, 4)
			return err
		}},
		{Name: "NewInfoWarp p0 zero entropy", F: func() error {
			_, err := NewInfoWarp(must(NewUniform(4, 3, nil)), []float32{1, 0, 0, 0}, 4)
			return err
		}},
	})
}
