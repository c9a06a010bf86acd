// Package kernels provides the forward corruption processes of softdiff:
// noise schedules and Markov kernels over the K states of a vocabulary whose
// marginals q(x_t | x_0) are available in closed form (or computed exactly),
// together with the diagnostics that measure how smoothly information leaves
// the data (docs/kernels.md has every formula).
//
// A Schedule gives the signal level α(t) and its derivative. A Kernel maps
// rows of a soft.Dense (distributions over x_0, or over x_s) to the
// distribution of x_t; optional interfaces add the posterior q(x_s | x_t, x_0)
// (Posteriorer), exact forward sampling (ForwardSampler), the columns of the
// transitions, P(x_t | x_s = ·) (Likelihooder: the evidence a noisy token
// carries), and the forward rates (Rater), which the reverse samplers of
// package decode read. Tabulated stores a kernel's matrices on time grids.
// PPMIEmbeddings, KNN and BisectHierarchy give the token geometry of the
// graph and hierarchical kernels.
//
// Kernels: Absorbing (MASK), Uniform, InfoAbsorbing (per-token rates),
// Graph (CTMC on a symmetric k-nearest-neighbour graph, matrix exponential
// applied by a Chebyshev series), Hierarchical (token → cluster → … → MASK),
// and the Gaussian channel y = α·onehot(x) + σ·ε of the hybrid state.
//
// Conventions: float32 storage, float64 accumulation; destination first;
// randomness only from an explicit *rand.Rand.
//
// Errors: every constructor (NewAbsorbing, NewUniform, NewInfoAbsorbing,
// NewGraph, NewHierarchical, NewGaussian, NewInfoWarp, NewKNNAdjacency, KNN,
// BisectHierarchy, NewTabulated, PPMIEmbeddings) checks what it is given (sizes, MASK ids, rates, options,
// graphs, hierarchies, distributions) and returns an error naming the fault;
// none of them panics. Methods panic only on the caller's own mistakes,
// documented on each: buffers whose shapes do not match the kernel, and times
// outside 0 ≤ s ≤ t ≤ 1.
package kernels
