package jobs

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
)

// The queue's Prometheus metrics:
//
//	forma_jobs{kind, state}                    jobs in each state, counted in the database at scrape time (every process sees them all)
//	forma_job_run_seconds{kind, outcome}       how long jobs ran in this process (outcome: completed, failed, cancelled, snoozed)
//	forma_job_wait_seconds{kind}               how long jobs waited between being due and starting, in this process
type metrics struct {
	run, wait *prometheus.HistogramVec
	jobs      *prometheus.Desc
}

func newMetrics() *metrics {
	buckets := []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	return &metrics{
		run: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "forma_job_run_seconds",
			Help: "How long jobs ran in this process, by kind and outcome.", Buckets: buckets}, []string{"kind", "outcome"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "forma_job_wait_seconds",
			Help: "How long due jobs waited for a worker of this process, by kind.", Buckets: buckets}, []string{"kind"}),
		jobs: prometheus.NewDesc("forma_jobs", "Jobs in the database by kind and state.", []string{"kind", "state"}, nil),
	}
}

// Collectors are the queue's metrics, for a Prometheus registry.
func (q *Queue) Collectors() []prometheus.Collector {
	return []prometheus.Collector{q.m.run, q.m.wait, stateCollector{q}}
}

// observe records the statistics of finished attempts until events closes.
func (q *Queue) observe(events <-chan *river.Event) {
	for ev := range events {
		if ev.Job == nil || ev.JobStats == nil {
			continue
		}
		outcome := "completed"
		switch ev.Kind {
		case river.EventKindJobFailed:
			outcome = "failed"
		case river.EventKindJobCancelled:
			outcome = "cancelled"
		case river.EventKindJobSnoozed:
			outcome = "snoozed"
		}
		q.m.run.WithLabelValues(ev.Job.Kind, outcome).Observe(ev.JobStats.RunDuration.Seconds())
		q.m.wait.WithLabelValues(ev.Job.Kind).Observe(ev.JobStats.QueueWaitDuration.Seconds())
	}
}

// stateCollector counts jobs by kind and state at scrape time.
type stateCollector struct{ q *Queue }

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.q.m.jobs }

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := c.q.db.SQL.QueryContext(ctx, `SELECT kind, state, COUNT(*) FROM river_job GROUP BY kind, state`)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.q.m.jobs, err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var kind, state string
		var n float64
		if err := rows.Scan(&kind, &state, &n); err != nil {
			ch <- prometheus.NewInvalidMetric(c.q.m.jobs, err)
			return
		}
		ch <- prometheus.MustNewConstMetric(c.q.m.jobs, prometheus.GaugeValue, n, kind, viewState(riverStateOf(state)))
	}
	if err := rows.Err(); err != nil {
		ch <- prometheus.NewInvalidMetric(c.q.m.jobs, err)
	}
}
