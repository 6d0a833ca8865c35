package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"giftdesk/cases"
	"giftdesk/cases/ops"
)

// metrics is the desk's own Prometheus registry (never the global one, so that two servers in one
// process, as in tests, count apart) and the request histogram its middleware fills.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.HistogramVec
	handler  http.Handler
}

// requestBuckets suit a desk whose reads take a few milliseconds and whose exports take minutes.
var requestBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

func newMetrics(desk *cases.Desk, log *slog.Logger) (*metrics, error) {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "giftdesk", Name: "http_request_duration_seconds",
			Help:    "Time to answer a request, by method, route template and status code.",
			Buckets: requestBuckets,
		}, []string{"method", "route", "code"}),
	}
	series := []prometheus.Collector{m.requests, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})}
	// A server without a desk (tests of page rendering) has no database to report on.
	if desk != nil {
		pool, err := ops.Pool(desk)
		if err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
		series = append(series, collectors.NewDBStatsCollector(pool, "giftdesk"), newBacklogCollector(desk))
	}
	for _, c := range series {
		if err := m.registry.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	// A database that does not answer must not hide the process's own series: the backlog's error
	// is logged and the rest served.
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.registry,
	})
	return m, nil
}

// knownMethods bound the method label: a client sending any word as its method must not make a
// new series each time.
var knownMethods = map[string]bool{http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true}

// observe times every request under its route template (c.FullPath(), "/api/v1/cases/:ref", never
// the path with its ids, which would make a series per case), "unmatched" when no route took it.
func (m *metrics) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	method := c.Request.Method
	if !knownMethods[method] {
		method = "other"
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(c.Writer.Status())).Observe(time.Since(start).Seconds())
}

// serveMetrics serves GET /metrics in Prometheus' text format.
func (s *Server) serveMetrics(c *gin.Context) { s.metrics.handler.ServeHTTP(c.Writer, c.Request) }

// backlogTimeout bounds the database reads of one scrape (Prometheus' default scrape timeout is
// 10 s).
const backlogTimeout = 5 * time.Second

// backlogCollector reads ops.Backlog at each scrape.
type backlogCollector struct {
	desk                                           *cases.Desk
	unfanned, pending, retrying, failed, oldestDue *prometheus.Desc
	unchained, oldestUnchained                     *prometheus.Desc
}

func newBacklogCollector(desk *cases.Desk) *backlogCollector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("giftdesk_"+name, help, nil, nil)
	}
	capped := fmt.Sprintf(" Counted up to %d: that value means at least as many.", ops.Cap)
	return &backlogCollector{
		desk:      desk,
		unfanned:  desc("webhook_outbox_unfanned_events", "Webhook events written but not yet turned into deliveries."+capped),
		pending:   desc("webhook_deliveries_pending", "Webhook deliveries waiting for their first or next attempt."+capped),
		retrying:  desc("webhook_deliveries_retrying", "Pending webhook deliveries whose last attempt failed."+capped),
		failed:    desc("webhook_deliveries_failed", "Webhook deliveries that gave up (retries exhausted, 410 Gone, endpoint disabled)."+capped),
		oldestDue: desc("webhook_oldest_due_delivery_seconds", "How long the pending delivery due first has been due; 0 when none is."),
		unchained: desc("audit_unchained_events", "Audit events recorded but not yet chained by the sealer."+capped),
		oldestUnchained: desc("audit_oldest_unchained_seconds",
			"How long ago the next audit event to chain was recorded; 0 when none waits (R10 allows 60)."),
	}
}

// Describe implements prometheus.Collector.
func (b *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{b.unfanned, b.pending, b.retrying, b.failed, b.oldestDue, b.unchained, b.oldestUnchained} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (b *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), backlogTimeout)
	defer cancel()
	bl, err := ops.ReadBacklog(ctx, b.desk)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(b.pending, fmt.Errorf("read the backlog: %w", err))
		return
	}
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	gauge(b.unfanned, float64(bl.OutboxUnfanned))
	gauge(b.pending, float64(bl.DeliveriesPending))
	gauge(b.retrying, float64(bl.DeliveriesRetrying))
	gauge(b.failed, float64(bl.DeliveriesFailed))
	gauge(b.oldestDue, bl.OldestDueDelivery.Seconds())
	gauge(b.unchained, float64(bl.AuditUnchained))
	gauge(b.oldestUnchained, bl.OldestUnchained.Seconds())
}
