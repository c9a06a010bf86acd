// Package experiments holds softdiff's reproducible experiments, one file
// each: the marginal trap, frequency collapse, duplication, quality against
// NFE, kernel smoothness, joint decoding, graded generation, the learned
// denoisers' central comparison and their model error (see
// docs/experiments.md for the metrics). Each file declares an
// lab.Experiment and registers it with lab.Register in its init; the
// framework (runner, statistics, tables, outputs, plots, reports) is package
// experiments/lab. Importing this package registers every experiment.
//
// The shared pieces of the definitions live beside them: the testbeds
// (testbeds.go), the samplers every comparing experiment runs and
// RegisterSampler to add one (samplers.go), the sample metrics (metrics.go),
// the learned models (learned.go) and the degraded oracle (degrade.go).
//
// The package also provides degrade.Oracle, a controlled model-error wrapper around
// any exact denoiser (a frequency-collapse model), used to run the
// experiments under model error as well as with exact oracles.
//
// Errors: parameters are checked by package lab before any work starts;
// degrade.New and RegisterSampler return errors for bad input.
package experiments
