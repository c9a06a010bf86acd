package experiments

import "github.com/softdiff/softdiff/experiments/lab"
import "fmt"

// compare states how a and b relate at 95% confidence: "lower than",
// "higher than" or "not distinguishable from", with both estimates shown.
func compare(aName string, a lab.Estimate, bName string, b lab.Estimate, d int) string {
	rel := "is not distinguishable from"
	switch {
	case a.Below(b):
		rel = "is lower than"
	case b.Below(a):
		rel = "is higher than"
	}
	return fmt.Sprintf("%s (%s) %s %s (%s)", aName, lab.Format(a, d), rel, bName, lab.Format(b, d))
}

// relation returns -1 if a is below b, +1 if above, 0 if the intervals
// overlap.
func relation(a, b lab.Estimate) int {
	switch {
	case a.Below(b):
		return -1
	case b.Below(a):
		return 1
	}
	return 0
}

// relWord names relation(a, b): below when a's interval lies below b's,
// above when it lies above, same when they overlap.
func relWord(a, b lab.Estimate, below, same, above string) string {
	switch relation(a, b) {
	case -1:
		return below
	case 1:
		return above
	}
	return same
}
