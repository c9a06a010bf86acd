package experiments

import "strconv"

// ftoa formats a label number in its shortest form.
func ftoa(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// itoa formats an integer label.
func itoa(n int) string { return strconv.Itoa(n) }
