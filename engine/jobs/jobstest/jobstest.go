// Package jobstest starts job queues for tests of the packages that run
// jobs (automation, flow, files, api).
package jobstest

import (
	"context"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/jobs"
)

// Start starts q's workers and stops them when the test ends, letting
// running jobs finish for up to 10 seconds.
func Start(t testing.TB, ctx context.Context, q *jobs.Queue) {
	t.Helper()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(ctx)
	})
}
