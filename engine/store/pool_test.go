package store

import "testing"

func TestPoolSize(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		n       int
		bad     bool
	}{
		{"postgres://u@h/db?sslmode=disable", "postgres://u@h/db?sslmode=disable", defaultPoolSize, false},
		{"postgres://u@h/db?pool_max_conns=6&sslmode=disable", "postgres://u@h/db?sslmode=disable", 6, false},
		{"postgres://u@h/db?pool_max_conns=0", "", 0, true},
		{"postgres://u@h/db?pool_max_conns=x", "", 0, true},
		{"postgres://u@h/db?pool_max_conns=5000", "", 0, true},
	} {
		out, n, err := poolSize(tc.in)
		if (err != nil) != tc.bad || out != tc.out || n != tc.n {
			t.Errorf("poolSize(%q) = %q, %d, %v", tc.in, out, n, err)
		}
	}
}
