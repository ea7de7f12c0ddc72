package api

import (
	"crypto/subtle"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Prometheus metrics at GET /metrics:
//
//	forma_http_requests_total{method, route, status}   requests answered, by route pattern (/api/data/:app/:entity, not the raw path)
//	forma_http_request_seconds{method, route}           how long they took
//	forma_jobs, forma_job_run_seconds, forma_job_wait_seconds (engine/jobs)
//	go_*, process_*                                     the Go runtime and the process
//
// Who may read them: an admin's token, or the scrape token the server was
// given (Server.MetricsToken, FORMA_METRICS_TOKEN), sent as
// "Authorization: Bearer <token>" — Prometheus' bearer_token setting.
// Anyone else gets 401 or 403 in the error shape: route names, job kinds
// and counts describe the installation.
type httpMetrics struct {
	requests *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
}

// initMetrics builds the registry and returns the handlers of GET /metrics.
func (s *Server) initMetrics() []fiber.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "forma_http_requests_total",
			Help: "HTTP requests answered, by method, route pattern and status."}, []string{"method", "route", "status"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "forma_http_request_seconds",
			Help: "HTTP request duration by method and route pattern.", Buckets: prometheus.DefBuckets}, []string{"method", "route"}),
	}
	reg.MustRegister(s.metrics.requests, s.metrics.seconds)
	if s.Jobs != nil {
		reg.MustRegister(s.Jobs.Collectors()...)
	}
	serve := adaptor.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	scraper := func(c *fiber.Ctx) error {
		if s.MetricsToken != "" {
			if tok, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer "); ok &&
				subtle.ConstantTimeCompare([]byte(tok), []byte(s.MetricsToken)) == 1 {
				return serve(c)
			}
		}
		return c.Next()
	}
	return []fiber.Handler{scraper, s.requireUser, s.requireAdmin, serve}
}

// countRequests is the first middleware: it counts every answer by the
// pattern of the route that handled it.
func (s *Server) countRequests(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	status := c.Response().StatusCode()
	if err != nil {
		status = toAPIError(err).Status
	}
	route := c.Route().Path
	if route == "" || route == "/" && c.Path() != "/" {
		route = "other"
	}
	method := c.Method()
	s.metrics.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	s.metrics.seconds.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
	return err
}
