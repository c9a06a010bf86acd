// Package lab is softdiff's experiment framework: the registry, the runner,
// the statistics, the tables, the output files, the plots and the Markdown
// reports. It knows nothing about diffusion; package experiments holds the
// experiment definitions, each one file that calls Register.
//
// An Experiment is a registered, named grid of work units. Each unit runs once
// per seed with its own random stream (ItemSeed) and returns rows of
// observations; Run pools them over seeds into tables whose every number
// carries a 95% confidence interval: a Student-t interval of the mean over
// seeds for per-seed scalars (MeanCI), and a Wilson score interval of the
// pooled count for rates (Wilson). Because a unit's randomness depends only
// on (base seed, unit key, seed index), the tables are the same at any number
// of workers and are unchanged when the grid is split into shards
// (Config.Shard) and merged again (Merge).
//
// Results are written by WriteResult as text, CSV, JSON, Markdown and SVG
// plots, every file atomically, each experiment's directory swapped in whole;
// ReadResult, ReadDir and ReadRecords read them back, validating every
// record; WriteReport summarises many results in one Markdown file.
//
//	Experiment (Params, Tables, Units, Verdict) ──Register──▶ registry (All, Lookup)
//	Config (Experiment.Config, Set, Validate) ──▶ Run ──▶ Result (records, pooled Tables)
//	Result ──▶ WriteResult (CSV, JSON, SVG, Markdown) · Merge (shards) · WriteReport
//
// Errors: configurations, parameter values, shard specifications, records
// files and result directories come from outside and get errors naming the
// file, the record or the parameter (ParseShard, Experiment.Set,
// Experiment.Validate, Run, ReadResult, ReadDir, ReadRecords, Merge). The
// code of an experiment is not outside data: Register panics on a malformed
// Experiment, and Config.Float on a parameter the experiment never declared.
package lab
