package bot

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxonbot/klaxon/incidents"
)

// metrics are klaxon's Prometheus metrics. Every name starts with klaxon_.
type metrics struct {
	requests           *prometheus.CounterVec
	duration           *prometheus.HistogramVec
	errors             *prometheus.CounterVec
	authFailures       *prometheus.CounterVec
	alertsReceived     *prometheus.CounterVec
	alertsIgnored      *prometheus.CounterVec
	incidentsOpened    *prometheus.CounterVec
	incidentsReopened  *prometheus.CounterVec
	maintenanceHeld    prometheus.Counter
	hooksInFlight      prometheus.Gauge
	alertsUnrouted     *prometheus.CounterVec
	hooksBusy          *prometheus.CounterVec
	parseWarnings      *prometheus.CounterVec
	hookReplays        *prometheus.CounterVec
	deliveries         *prometheus.CounterVec
	deliveryLatency    *prometheus.HistogramVec
	chatRequests       *prometheus.CounterVec
	reports            *prometheus.CounterVec
	chatDuration       *prometheus.HistogramVec
	chatRejected       *prometheus.CounterVec
	escalationSteps    *prometheus.CounterVec
	phoneCalls         *prometheus.CounterVec
	pages              *prometheus.CounterVec
	pagesThrottled     *prometheus.CounterVec
	smsInbound         *prometheus.CounterVec
	timeToAck          *prometheus.HistogramVec
	timeToResolve      *prometheus.HistogramVec
	escalationLateness prometheus.Histogram
	graphs             *prometheus.CounterVec
	graphQuery         *prometheus.HistogramVec
	handovers          *prometheus.CounterVec
	covers             *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, store incidents.Store, version string, g *gates) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "klaxon_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_http_request_errors_total", Help: "HTTP requests answered with an error, by route and class (client: 4xx, server: 5xx).",
		}, []string{"route", "class"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_webhook_auth_failures_total", Help: "Webhook calls refused for missing or wrong credentials.",
		}, []string{"source"}),
		alertsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_alerts_received_total", Help: "Alerts received in valid webhook payloads, by source and status.",
		}, []string{"source", "status"}),
		alertsIgnored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_alerts_ignored_total", Help: "Alerts klaxon took no action on: resolved alerts of a group it had no incident for, and webhooks whose mapping ignores their status.",
		}, []string{"source"}),
		incidentsOpened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_incidents_opened_total", Help: "Incidents opened, by source and team.",
		}, []string{"source", "team"}),
		alertsUnrouted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_alerts_unrouted_total", Help: "Alerts no route matched, sent to default_team.",
		}, []string{"source"}),
		maintenanceHeld: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "klaxon_maintenance_held_total", Help: "Incidents opened or reopened in a maintenance window: their escalation waits for its end.",
		}),
		incidentsReopened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_incidents_reopened_total", Help: "Resolved incidents reopened by an alert firing again within the reopen window.",
		}, []string{"source"}),
	}
	m.hooksInFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "klaxon_webhooks_in_flight", Help: "Webhooks being handled now (saturation: compare with server.max_webhooks).",
	})
	m.hooksBusy = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_webhooks_busy_total", Help: "Webhooks answered 503 because server.max_webhooks were in flight.",
	}, []string{"source"})
	m.parseWarnings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_webhook_parse_warnings_total", Help: "Alerts accepted with part of their body left out: a generic webhook mapping field that failed on that body (the alert's klaxon_parse_warnings annotation says which).",
	}, []string{"source"})
	m.hookReplays = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_webhook_replays_total", Help: "Signed webhooks whose signature was accepted already within its window: answered 200 duplicate, nothing done.",
	}, []string{"source"})
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_deliveries_total",
		Help: "Calls to chat platforms by platform, kind (post, update, reply) and result (ok; retried, rate_limited or failed with the platform's error code; waited: held back by klaxon's own rate limit).",
	}, []string{"platform", "kind", "result", "code"})
	m.deliveryLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "klaxon_delivery_latency_seconds",
		Help:    "Time from an incident's change to the platform accepting the card that shows it, by platform.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
	}, []string{"platform"})
	m.reports = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_noise_reports_total",
		Help: "Weekly noise reports, by platform and result (posted, retry: rate limited, failed: refused or unsure, not retried).",
	}, []string{"platform", "result"})
	m.chatRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_chat_requests_total",
		Help: "Commands and button presses from chat, by platform, kind (command, button), verb and result (ok, usage, not_found, conflict, refused, unauthorized, error).",
	}, []string{"platform", "kind", "verb", "result"})
	m.chatDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "klaxon_chat_request_duration_seconds",
		Help:    "Time to act on a command or button press, by platform and kind.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"platform", "kind"})
	m.chatRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_chat_rejected_total",
		Help: "Chat requests refused before acting: unsigned, badly signed, replayed, wrong token, by platform and reason.",
	}, []string{"platform", "reason"})
	m.escalationSteps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_escalation_steps_total", Help: "Escalation steps run, by kind (notify, mention, call).",
	}, []string{"kind"})
	m.phoneCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_phone_calls_total", Help: "Escalation phone calls by outcome (placed, failed, not_placed, acknowledged, escalated, no_answer, busy, call_failed, completed).",
	}, []string{"outcome"})
	m.pagesThrottled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_pages_throttled_total", Help: "Page attempts a person's throttle held back, by method; each is folded into the person's next message by the method. method=call also counts call steps' calls held back (not folded).",
	}, []string{"method"})
	m.pages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_pages_total", Help: "Page attempts of page steps by method (dm, push, email, sms, call) and outcome (sent, retried, failed, folded: told of in a later message after a throttle held it back).",
	}, []string{"method", "outcome"})
	m.smsInbound = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_sms_inbound_total", Help: "Texts to the Twilio number by result (acknowledged, escalated, resolved, refused, no_incident, usage, help, opt_out, opt_in, unknown_number, replay, bad_signature, invalid, failed).",
	}, []string{"result"})
	ttBuckets := []float64{30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400}
	m.timeToAck = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "klaxon_time_to_acknowledge_seconds", Help: "From an incident opening to its first acknowledgement (MTTA), by team and severity.", Buckets: ttBuckets,
	}, []string{"team", "severity"})
	m.timeToResolve = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "klaxon_time_to_resolve_seconds", Help: "From an incident opening to its resolution (MTTR), by team and severity.", Buckets: ttBuckets,
	}, []string{"team", "severity"})
	m.escalationLateness = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "klaxon_escalation_lateness_seconds", Help: "From an escalation step's due time to the scheduler running it.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	})
	m.graphs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_graphs_total",
		Help: "Graphs of incidents' alerts, by result (drawn, failed) and reason (opened, resolved for drawn ones; timeout, unavailable, refused, unauthorized, store for failed ones).",
	}, []string{"result", "reason"})
	m.graphQuery = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "klaxon_graph_query_duration_seconds", Help: "Data source queries for graphs (the window and the day before, at once), by data source.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2, 5},
	}, []string{"datasource"})
	m.handovers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_handover_messages_total", Help: "Shift handover announcements, by platform, target (channel, direct) and outcome (sent, retry, failed).",
	}, []string{"platform", "target", "outcome"})
	m.covers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_cover_requests_total", Help: "Cover requests (/incident oncall cover), by outcome: asked, accepted, declined, withdrawn, expired.",
	}, []string{"outcome"})
	for _, o := range []string{"asked", "accepted", "declined", "withdrawn", "expired"} {
		m.covers.WithLabelValues(o)
	}
	g.shed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_shed_total",
		Help: "Requests klaxon refused with 503 to protect itself, by reason: webhook_slots, webhook_memory, unauthenticated, client, unauthenticated_memory, slow_body, deadline, store.",
	}, []string{"reason"})
	for _, r := range shedReasons {
		g.shed.WithLabelValues(r)
	}
	webhookMem := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "klaxon_webhook_memory_bytes", Help: "Memory held by the webhooks being handled (their bodies times what parsing them costs), against server.limits.webhook_memory.",
	}, func() float64 { return float64(g.webhookMem.InUse() + g.smallMem.InUse()) })
	unauthInFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "klaxon_unauthenticated_in_flight", Help: "Requests being read before they are authenticated, against server.limits.unauthenticated.",
	}, func() float64 { return float64(g.unauth.InFlight()) })
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "klaxon_build_info", Help: "Always 1; the version label says which klaxon runs.",
	}, []string{"version"})
	build.WithLabelValues(version).Set(1)
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.errors, m.authFailures, m.alertsReceived,
		m.alertsIgnored, m.incidentsOpened, m.incidentsReopened, m.maintenanceHeld, m.hooksInFlight, m.hooksBusy, m.parseWarnings, m.hookReplays, m.alertsUnrouted, build, &openCollector{store: store},
		m.deliveries, m.deliveryLatency, m.chatRequests, m.reports, m.chatDuration, m.chatRejected,
		m.escalationSteps, m.phoneCalls, m.pages, m.pagesThrottled, m.smsInbound, m.timeToAck, m.timeToResolve, m.escalationLateness, m.graphs, m.graphQuery, m.handovers, m.covers, g.shed, webhookMem, unauthInFlight} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	if box, ok := store.(incidents.Outbox); ok {
		if err := reg.Register(&outboxCollector{box: box}); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// outboxCollector reads the outbox's depth and age at scrape time.
type outboxCollector struct{ box incidents.Outbox }

var (
	depthDesc = prometheus.NewDesc("klaxon_outbox_depth", "Incidents whose cards wait to be synced (all replicas).", nil, nil)
	ageDesc   = prometheus.NewDesc("klaxon_outbox_oldest_age_seconds", "How long the longest-waiting card sync has waited; 0 when none waits.", nil, nil)
)

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- depthDesc; ch <- ageDesc }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.box.OutboxStats(ctx)
	if err != nil {
		return // klaxon_store_up says why
	}
	age := 0.0
	if !st.Oldest.IsZero() {
		age = max(0, time.Since(st.Oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(st.Depth))
	ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, age)
}

// openCollector reads the number of open incidents by state from the store
// at scrape time, so every replica reports the same, true figure.
type openCollector struct{ store incidents.Store }

var (
	openDesc = prometheus.NewDesc("klaxon_incidents_open", "Open incidents by state, read from the store at scrape time.", []string{"state"}, nil)
	upDesc   = prometheus.NewDesc("klaxon_store_up", "1 when the store answered the last scrape, 0 when it did not.", nil, nil)
)

func (c *openCollector) Describe(ch chan<- *prometheus.Desc) { ch <- openDesc; ch <- upDesc }

func (c *openCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.store.Count(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, 1)
	for _, st := range incidents.OpenStates {
		ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
}

// statusWriter remembers the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts and times every request by the ServeMux pattern that
// served it (bounded cardinality: never the raw path).
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		_, route := s.mux.Handler(r)
		if route == "" || route == "/" {
			route = "unmatched"
		}
		defer func() {
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			s.metrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Inc()
			s.metrics.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
			switch {
			case sw.status >= 500:
				s.metrics.errors.WithLabelValues(route, "server").Inc()
			case sw.status >= 400:
				s.metrics.errors.WithLabelValues(route, "client").Inc()
			}
		}()
		next.ServeHTTP(sw, r)
	})
}
