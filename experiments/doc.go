// Package experiments holds softdiff's reproducible experiments: the marginal
// trap, frequency collapse, duplication, quality against NFE, kernel
// smoothness and joint decoding (see docs/experiments.md for the metrics).
//
// An Experiment is a registered, named grid of work units. Each unit runs once
// per seed with its own random stream and returns rows of observations; the
// runner pools them over seeds into tables whose every number carries a 95%
// confidence interval: a Student-t interval of the mean over seeds for
// per-seed scalars, and a Wilson score interval of the pooled count for rates.
// Because a unit's randomness depends only on (base seed, unit key, seed
// index), the tables are the same at any number of workers and are unchanged
// when the grid is split into shards (Config.Shard) and merged again (Merge).
//
// Results are written by WriteResult as text, CSV, JSON, Markdown and SVG
// plots, every file atomically, each experiment's directory swapped in whole.
//
// The package also provides Degraded, a controlled model-error wrapper around
// any exact denoiser (a frequency-collapse model), used to run the
// experiments under model error as well as with exact oracles.
//
// Errors: configurations, parameter values, shard specifications, records
// files and result directories come from outside and get errors naming the
// file, the record or the parameter (NewDegraded, ParseShard,
// Experiment.Set, Experiment.Validate, Run, ReadResult, ReadDir,
// ReadRecords, Merge). The code of an experiment is not outside data:
// Register panics on a malformed Experiment, and Config.Float on a
// parameter the experiment never declared.
package experiments
