// Package testutil holds helpers shared by the tests of several packages.
package testutil

import "testing"

// Case is a named call that must fail cleanly.
type Case struct {
	Name string
	F    func() error
}

// ErrorsNotPanics runs each case as a subtest and fails it if the call
// panics or returns no error: the contract of every constructor that takes
// outside data.
func ErrorsNotPanics(t *testing.T, cases []Case) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("panicked instead of returning an error: %v", r)
						err = errPanicked
					}
				}()
				err = c.F()
			}()
			if err == nil {
				t.Error("no error")
			}
		})
	}
}

type panicked struct{}

func (panicked) Error() string { return "panicked" }

var errPanicked error = panicked{}
