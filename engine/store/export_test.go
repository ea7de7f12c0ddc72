package store

import "errors"

// FailAtLastStep makes every migration fail at its last step until the
// returned function is called.
func FailAtLastStep() (restore func()) {
	stepHook = func(i, n int, s *Step) error {
		if i == n-1 {
			return errors.New("injected failure")
		}
		return nil
	}
	return func() { stepHook = nil }
}

// FailAtStep makes every migration fail right after step k (counting from 0)
// until the returned function is called.
func FailAtStep(k int) (restore func()) {
	stepHook = func(i, n int, s *Step) error {
		if i == k {
			return errors.New("injected failure")
		}
		return nil
	}
	return func() { stepHook = nil }
}

// FailIndexBuilds runs fn before each concurrent index build (PostgreSQL);
// its error fails the build. The returned function removes it.
func FailIndexBuilds(fn func(name string) error) (restore func()) {
	buildHook = fn
	return func() { buildHook = nil }
}
