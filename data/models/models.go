// Package models holds the denoisers shipped with softdiff, compiled into
// every binary that imports it. Each checkpoint is a directory of FS:
// config.json, model.safetensors, parity.safetensors (evidence and the
// training framework's logits for it) and README.md, the model card with the
// command, seed, steps, wall time, hardware and losses that made it. Open
// them with nn.Shipped.
package models

import "embed"

// FS holds the shipped checkpoints, one directory each.
//
//go:embed */config.json */model.safetensors */parity.safetensors */README.md
var FS embed.FS
