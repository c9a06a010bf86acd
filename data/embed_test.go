package data

import (
	"os"
	"strings"
	"testing"
)

// TestEmbeddedFiles: the embedded copies are the files of data/ byte for
// byte, with the size and line count docs/oracles.md states for the text.
func TestEmbeddedFiles(t *testing.T) {
	for _, c := range []struct{ file, embedded string }{{KJVTextFile, KJVText()}, {KJVHMMFile, KJVHMM()}} {
		b, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.embedded {
			t.Errorf("embedded %s differs from the file", c.file)
		}
	}
	if n, lines := len(KJVText()), strings.Count(KJVText(), "\n"); n != 863164 || lines != 5852 {
		t.Errorf("text: %d bytes, %d lines; docs/oracles.md says 863,164 and 5,852", n, lines)
	}
}
