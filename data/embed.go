// Package data holds softdiff's shipped data files, embedded in every
// binary that imports it, so the library and the softdiff command work from
// any directory without the repository:
//
//   - kjv-pentateuch.txt: Genesis 1:1 to Deuteronomy 34:12 of the King James
//     Version (public domain), one verse per line with its reference;
//   - kjv-hmm.json: the hidden Markov model fitted to it by EM (24 states,
//     the 300 most frequent words + <unk> + [MASK]), in the format of
//     oracle.WriteHMM.
//
// docs/oracles.md gives the provenance of both and the command that refits
// the model. oracle.KJV builds the model; this package only hands out the
// bytes and imports nothing of softdiff.
package data

import _ "embed"

//go:embed kjv-pentateuch.txt
var kjvText string

//go:embed kjv-hmm.json
var kjvHMM string

// File names of the shipped files, as they lie in the repository's data/
// directory (and in a directory that SOFTDIFF_DATA names).
const (
	KJVTextFile = "kjv-pentateuch.txt"
	KJVHMMFile  = "kjv-hmm.json"
)

// KJVText returns the shipped KJV Pentateuch text (863,164 bytes).
func KJVText() string { return kjvText }

// KJVHMM returns the shipped HMM file (JSON, for oracle.ReadHMM).
func KJVHMM() string { return kjvHMM }
