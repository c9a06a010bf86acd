package nn

import (
	"fmt"
	"io/fs"
	"slices"

	"github.com/softdiff/softdiff/data/models"
)

// Shipped opens the checkpoint called name among those compiled into the
// binary (data/models; ShippedNames lists them). It reads nothing from disk.
func Shipped(name string) (*Model, error) {
	if !fs.ValidPath(name) || name == "." {
		return nil, fmt.Errorf("nn: no shipped model %q", name)
	}
	if _, err := fs.Stat(models.FS, name+"/"+ConfigFile); err != nil {
		return nil, fmt.Errorf("nn: no shipped model %q (have %v)", name, ShippedNames())
	}
	return LoadFS(models.FS, name)
}

// ShippedNames lists the shipped checkpoints in lexical order.
func ShippedNames() []string {
	ents, err := fs.ReadDir(models.FS, ".")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}

// ShippedCard returns the model card (README.md) of a shipped checkpoint.
func ShippedCard(name string) (string, error) {
	b, err := fs.ReadFile(models.FS, name+"/"+CardFile)
	if err != nil {
		return "", fmt.Errorf("nn: no model card for %q: %w", name, err)
	}
	return string(b), nil
}
