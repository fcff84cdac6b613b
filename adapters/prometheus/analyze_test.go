package prometheus_test

import (
	"math"
	"testing"

	promds "github.com/klaxonbot/klaxon/adapters/prometheus"
)

// analyzeCase is an alerting rule's expression and what Analyze must find.
// op "" means no threshold.
type analyzeCase struct {
	name  string
	expr  string
	query string
	op    string
	value float64
	unit  string
}

// analyzeCases are real rules (node_exporter's node-mixin and
// kube-prometheus, lightly trimmed), the brief's examples and the corners
// of the tokenizer. They are also checked against a real Prometheus's
// parser in TestRealPrometheus.
var analyzeCases = []analyzeCase{
	// node-mixin
	{
		name: "NodeFilesystemSpaceFillingUp",
		expr: `(
  node_filesystem_avail_bytes{job="node",fstype!="",mountpoint!=""} / node_filesystem_size_bytes{job="node",fstype!="",mountpoint!=""} * 100 < 15
and
  predict_linear(node_filesystem_avail_bytes{job="node",fstype!="",mountpoint!=""}[6h], 4*60*60) < 0
and
  node_filesystem_readonly{job="node",fstype!="",mountpoint!=""} == 0
)`,
		query: `node_filesystem_avail_bytes{job="node",fstype!="",mountpoint!=""} / node_filesystem_size_bytes{job="node",fstype!="",mountpoint!=""} * 100`,
		op:    "<", value: 15, unit: "percent",
	},
	{
		name:  "NodeHighNumberConntrackEntriesUsed",
		expr:  `(node_nf_conntrack_entries{job="node"} / node_nf_conntrack_entries_limit) > 0.75`,
		query: `node_nf_conntrack_entries{job="node"} / node_nf_conntrack_entries_limit`,
		op:    ">", value: 0.75,
	},
	{
		name: "NodeClockSkewDetected (or: whole expression, no threshold)",
		expr: `(
  node_timex_offset_seconds{job="node"} > 0.05
and
  deriv(node_timex_offset_seconds{job="node"}[5m]) >= 0
)
or
(
  node_timex_offset_seconds{job="node"} < -0.05
and
  deriv(node_timex_offset_seconds{job="node"}[5m]) <= 0
)`,
		query: `(
  node_timex_offset_seconds{job="node"} > 0.05
and
  deriv(node_timex_offset_seconds{job="node"}[5m]) >= 0
)
or
(
  node_timex_offset_seconds{job="node"} < -0.05
and
  deriv(node_timex_offset_seconds{job="node"}[5m]) <= 0
)`,
		unit: "seconds",
	},
	{
		name:  "NodeMemoryHighUtilization",
		expr:  `100 - (node_memory_MemAvailable_bytes{job="node"} / node_memory_MemTotal_bytes{job="node"} * 100) > 90`,
		query: `100 - (node_memory_MemAvailable_bytes{job="node"} / node_memory_MemTotal_bytes{job="node"} * 100)`,
		op:    ">", value: 90, unit: "percent",
	},
	{
		name:  "NodeCPUHighUsage",
		expr:  `sum without(mode) (avg without (cpu) (rate(node_cpu_seconds_total{job="node", mode!~"idle|iowait"}[2m]))) * 100 > 90`,
		query: `sum without(mode) (avg without (cpu) (rate(node_cpu_seconds_total{job="node", mode!~"idle|iowait"}[2m]))) * 100`,
		op:    ">", value: 90, unit: "percent",
	},
	{
		name:  "NodeSystemSaturation",
		expr:  `node_load1{job="node"} / count without (cpu, mode) (node_cpu_seconds_total{job="node", mode="idle"}) > 2`,
		query: `node_load1{job="node"} / count without (cpu, mode) (node_cpu_seconds_total{job="node", mode="idle"})`,
		op:    ">", value: 2,
	},
	{
		name:  "NodeDiskIOSaturation",
		expr:  `rate(node_disk_io_time_weighted_seconds_total{job="node", device!=""}[5m]) > 10`,
		query: `rate(node_disk_io_time_weighted_seconds_total{job="node", device!=""}[5m])`,
		op:    ">", value: 10, unit: "ratio",
	},
	{
		name:  "NodeNetworkReceiveErrs",
		expr:  `rate(node_network_receive_errs_total{job="node"}[2m]) / rate(node_network_receive_packets_total{job="node"}[2m]) > 0.01`,
		query: `rate(node_network_receive_errs_total{job="node"}[2m]) / rate(node_network_receive_packets_total{job="node"}[2m])`,
		op:    ">", value: 0.01, unit: "ratio",
	},
	{
		name:  "NodeFileDescriptorLimit",
		expr:  `( node_filefd_allocated{job="node"} * 100 / node_filefd_maximum{job="node"} > 70 )`,
		query: `node_filefd_allocated{job="node"} * 100 / node_filefd_maximum{job="node"}`,
		op:    ">", value: 70,
	},
	{
		name:  "NodeMemoryAvailable percent",
		expr:  `(node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) * 100 < 10`,
		query: `(node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) * 100`,
		op:    "<", value: 10, unit: "percent",
	},
	{
		name:  "NodeRecentlyRebooted",
		expr:  `time() - node_boot_time_seconds < 600`,
		query: `time() - node_boot_time_seconds`,
		op:    "<", value: 600, unit: "seconds",
	},
	{
		name:  "NodeHighTemperature",
		expr:  `node_hwmon_temp_celsius > 80`,
		query: `node_hwmon_temp_celsius`,
		op:    ">", value: 80, unit: "celsius",
	},
	// kube-prometheus
	{
		name:  "KubePodCrashLooping",
		expr:  `max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff", job="kube-state-metrics"}[5m]) >= 1`,
		query: `max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff", job="kube-state-metrics"}[5m])`,
		op:    ">=", value: 1,
	},
	{
		name: "KubeCPUOvercommit",
		expr: `sum(namespace_cpu:kube_pod_container_resource_requests:sum{job="kube-state-metrics",}) by (cluster) - (sum(kube_node_status_allocatable{job="kube-state-metrics",resource="cpu"}) by (cluster) - max(kube_node_status_allocatable{job="kube-state-metrics",resource="cpu"}) by (cluster)) > 0
and
(sum(kube_node_status_allocatable{job="kube-state-metrics",resource="cpu"}) by (cluster) - max(kube_node_status_allocatable{job="kube-state-metrics",resource="cpu"}) by (cluster)) > 0`,
		query: `sum(namespace_cpu:kube_pod_container_resource_requests:sum{job="kube-state-metrics",}) by (cluster) - (sum(kube_node_status_allocatable{job="kube-state-metrics",resource="cpu"}) by (cluster) - max(kube_node_status_allocatable{job="kube-state-metrics",resource="cpu"}) by (cluster))`,
		op:    ">", value: 0,
	},
	{
		name: "KubeletTooManyPods",
		expr: `count by(cluster, node) (
  (kube_pod_status_phase{job="kube-state-metrics",phase="Running"} == 1) * on(instance,pod,namespace,cluster) group_left(node) topk by(instance,pod,namespace,cluster) (1, kube_pod_info{job="kube-state-metrics"})
)
/
max by(cluster, node) (
  kube_node_status_capacity{job="kube-state-metrics",resource="pods"} != 1
) > 0.95`,
		query: `count by(cluster, node) (
  (kube_pod_status_phase{job="kube-state-metrics",phase="Running"} == 1) * on(instance,pod,namespace,cluster) group_left(node) topk by(instance,pod,namespace,cluster) (1, kube_pod_info{job="kube-state-metrics"})
)
/
max by(cluster, node) (
  kube_node_status_capacity{job="kube-state-metrics",resource="pods"} != 1
)`,
		op: ">", value: 0.95,
	},
	{
		name:  "KubeAPIErrorBudgetBurn (constant arithmetic)",
		expr:  `sum(apiserver_request:burnrate1h) > (14.40 * 0.01000) and sum(apiserver_request:burnrate5m) > (14.40 * 0.01000)`,
		query: `sum(apiserver_request:burnrate1h)`,
		op:    ">", value: 0.144,
	},
	{
		name: "CPUThrottlingHigh",
		expr: `sum(increase(container_cpu_cfs_throttled_periods_total{container!="", }[5m])) by (cluster, container, pod, namespace)
  /
sum(increase(container_cpu_cfs_periods_total{}[5m])) by (cluster, container, pod, namespace)
  > ( 25 / 100 )`,
		query: `sum(increase(container_cpu_cfs_throttled_periods_total{container!="", }[5m])) by (cluster, container, pod, namespace)
  /
sum(increase(container_cpu_cfs_periods_total{}[5m])) by (cluster, container, pod, namespace)`,
		op: ">", value: 0.25,
	},
	{
		name: "KubePersistentVolumeFillingUp (and, unless on)",
		expr: `(
  kubelet_volume_stats_available_bytes{job="kubelet", metrics_path="/metrics"}
    /
  kubelet_volume_stats_capacity_bytes{job="kubelet", metrics_path="/metrics"}
) < 0.03
and
kubelet_volume_stats_used_bytes{job="kubelet", metrics_path="/metrics"} > 0
unless on(cluster, namespace, persistentvolumeclaim)
kube_persistentvolumeclaim_access_mode{ access_mode="ReadOnlyMany"} == 1
unless on(cluster, namespace, persistentvolumeclaim)
kube_persistentvolumeclaim_labels{label_excluded_from_alerts="true"} == 1`,
		query: `kubelet_volume_stats_available_bytes{job="kubelet", metrics_path="/metrics"}
    /
  kubelet_volume_stats_capacity_bytes{job="kubelet", metrics_path="/metrics"}`,
		op: "<", value: 0.03, unit: "ratio",
	},
	{
		name:  "KubeletDown (absent: no threshold)",
		expr:  `absent(up{job="kubelet", metrics_path="/metrics"} == 1)`,
		query: `absent(up{job="kubelet", metrics_path="/metrics"} == 1)`,
	},
	{
		name:  "TargetDown",
		expr:  `100 * (count(up == 0) BY (cluster, job, namespace, service) / count(up) BY (cluster, job, namespace, service)) > 10`,
		query: `100 * (count(up == 0) BY (cluster, job, namespace, service) / count(up) BY (cluster, job, namespace, service))`,
		op:    ">", value: 10,
	},
	{
		name:  "Watchdog",
		expr:  `vector(1)`,
		query: `vector(1)`,
	},
	{
		name:  "KubeClientCertificateExpiration (histogram_quantile of seconds, and on)",
		expr:  `histogram_quantile(0.01, sum without (namespace, service, endpoint) (rate(apiserver_client_certificate_expiration_seconds_bucket{job="apiserver"}[5m]))) < 604800 and on(job, cluster, instance) apiserver_client_certificate_expiration_seconds_count{job="apiserver"} > 0`,
		query: `histogram_quantile(0.01, sum without (namespace, service, endpoint) (rate(apiserver_client_certificate_expiration_seconds_bucket{job="apiserver"}[5m])))`,
		op:    "<", value: 604800, unit: "seconds",
	},
	// The brief's examples
	{name: "up == 0", expr: `up == 0`, query: `up`, op: "==", value: 0},
	{name: "rate > 0.05", expr: `rate(http_requests_total{code=~"5.."}[5m]) > 0.05`, query: `rate(http_requests_total{code=~"5.."}[5m])`, op: ">", value: 0.05, unit: "/s"},
	{
		name:  "histogram_quantile without a unit",
		expr:  `histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m]))) > 0.5`,
		query: `histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))`,
		op:    ">", value: 0.5,
	},
	{
		name:  "histogram_quantile of seconds",
		expr:  `histogram_quantile(0.99, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m]))) > 0.5`,
		query: `histogram_quantile(0.99, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m])))`,
		op:    ">", value: 0.5, unit: "seconds",
	},
	{
		name:  "predict_linear < 0",
		expr:  `predict_linear(node_filesystem_free_bytes{job="node"}[1h], 4 * 3600) < 0`,
		query: `predict_linear(node_filesystem_free_bytes{job="node"}[1h], 4 * 3600)`,
		op:    "<", value: 0, unit: "bytes",
	},
	{
		name:  "group_left in the plotted side",
		expr:  `sum by (job) (x) / on (job) group_left y > 1`,
		query: `sum by (job) (x) / on (job) group_left y`,
		op:    ">", value: 1,
	},
	{name: "a_bytes / b_bytes is a ratio", expr: `a_bytes / b_bytes > 0.9`, query: `a_bytes / b_bytes`, op: ">", value: 0.9, unit: "ratio"},
	{name: "rate of bytes", expr: `rate(node_network_receive_bytes_total[5m]) > 1e8`, query: `rate(node_network_receive_bytes_total[5m])`, op: ">", value: 1e8, unit: "bytes/s"},
	{name: "error ratio", expr: `sum(rate(errors_total[5m])) / sum(rate(requests_total[5m])) > 0.05`, query: `sum(rate(errors_total[5m])) / sum(rate(requests_total[5m]))`, op: ">", value: 0.05, unit: "ratio"},
	{name: "1 - ratio", expr: `1 - avg(rate(node_cpu_seconds_total{mode="idle"}[5m])) > 0.9`, query: `1 - avg(rate(node_cpu_seconds_total{mode="idle"}[5m]))`, op: ">", value: 0.9, unit: "ratio"},
	{name: "increase of bytes", expr: `increase(node_network_transmit_bytes_total[1h]) > 1e9`, query: `increase(node_network_transmit_bytes_total[1h])`, op: ">", value: 1e9, unit: "bytes"},
	{name: "percent / 100", expr: `disk_used_percent / 100 > 0.5`, query: `disk_used_percent / 100`, op: ">", value: 0.5, unit: "ratio"},
	{name: "percentage", expr: `cpu_usage_percentage >= 95`, query: `cpu_usage_percentage`, op: ">=", value: 95, unit: "percent"},
	{name: "recording rule with a rate", expr: `node_namespace_pod_container:container_cpu_usage_seconds_total:sum_irate > 4`, query: `node_namespace_pod_container:container_cpu_usage_seconds_total:sum_irate`, op: ">", value: 4, unit: "ratio"},
	{name: "recording rule ratio", expr: `instance:node_memory_utilisation:ratio > 0.9`, query: `instance:node_memory_utilisation:ratio`, op: ">", value: 0.9, unit: "ratio"},
	{name: "by __name__ matcher", expr: `{__name__="node_memory_MemFree_bytes"} < 1e8`, query: `{__name__="node_memory_MemFree_bytes"}`, op: "<", value: 1e8, unit: "bytes"},
	// Normalisation and modifiers
	{name: "scalar on the left", expr: `0.9 < rate(x_seconds_total[5m])`, query: `rate(x_seconds_total[5m])`, op: ">", value: 0.9, unit: "ratio"},
	{name: "scalar on the left, >=", expr: `10 >= free_bytes`, query: `free_bytes`, op: "<=", value: 10, unit: "bytes"},
	{name: "scalar on the left, !=", expr: `1 != up`, query: `up`, op: "!=", value: 1},
	{name: "bool", expr: `x_ratio > bool 0.9`, query: `x_ratio`, op: ">", value: 0.9, unit: "ratio"},
	{name: "bool, scalar on the left", expr: `0.9 <= bool x_ratio`, query: `x_ratio`, op: ">=", value: 0.9, unit: "ratio"},
	{name: "two vectors", expr: `x > on(job) y`, query: `x > on(job) y`},
	{name: "two vectors, ignoring", expr: `x >= bool ignoring(mode) group_left y`, query: `x >= bool ignoring(mode) group_left y`},
	{name: "two vectors, plain", expr: `node_load1 > node_cpus`, query: `node_load1 > node_cpus`},
	{name: "two constants", expr: `1 > 0`, query: `1 > 0`},
	{name: "chained comparisons", expr: `x > 1 < 5`, query: `x > 1 < 5`},
	{name: "parenthesised", expr: `((x > 1))`, query: `x`, op: ">", value: 1},
	{name: "parenthesised sides", expr: `(x) > (80 / 100)`, query: `x`, op: ">", value: 0.8},
	{name: "negative threshold", expr: `x > -1e-3`, query: `x`, op: ">", value: -0.001},
	{name: "negated metric", expr: `-x < -1`, query: `-x`, op: "<", value: -1},
	{name: "hex", expr: `x > 0x10`, query: `x`, op: ">", value: 16},
	{name: "power", expr: `x_bytes > 2^30`, query: `x_bytes`, op: ">", value: 1 << 30, unit: "bytes"},
	{name: "precedence of unary minus and ^", expr: `x > -2^2`, query: `x`, op: ">", value: -4},
	{name: "Inf", expr: `x < Inf`, query: `x`, op: "<", value: math.Inf(1)},
	{name: "unless", expr: `x unless y`, query: `x`},
	{name: "unless with a comparison on the left", expr: `x > 3 unless on(instance) maintenance == 1`, query: `x`, op: ">", value: 3},
	{name: "AND in capitals", expr: `x > 1 AND y == 0`, query: `x`, op: ">", value: 1},
	{name: "or of thresholds", expr: `up{job="a"} == 0 or up{job="b"} == 0`, query: `up{job="a"} == 0 or up{job="b"} == 0`},
	// The tokenizer's corners
	{name: "operators in strings", expr: `label_replace(up, "x", "$1 > 2 and 3", "instance", "(.*)") > 0`, query: `label_replace(up, "x", "$1 > 2 and 3", "instance", "(.*)")`, op: ">", value: 0},
	{name: "escaped quote in a string", expr: `up{job="a\" > 1"} < 1`, query: `up{job="a\" > 1"}`, op: "<", value: 1},
	{name: "single quotes", expr: `up{job='a\' < 2'} < 1`, query: `up{job='a\' < 2'}`, op: "<", value: 1},
	{name: "backquotes", expr: "count(up{job=~`a|b > 1\\d`}) < 2", query: "count(up{job=~`a|b > 1\\d`})", op: "<", value: 2},
	{name: "comment", expr: "rate(x_bytes_total[5m]) # bytes > 5 and more\n > 1e6 # the threshold", query: "rate(x_bytes_total[5m])", op: ">", value: 1e6, unit: "bytes/s"},
	{name: "offset", expr: `x offset -5m > 1`, query: `x offset -5m`, op: ">", value: 1},
	{name: "@ end()", expr: `x_seconds @ end() >= 3`, query: `x_seconds @ end()`, op: ">=", value: 3, unit: "seconds"},
	{name: "subquery", expr: `max_over_time(instance:node_cpu:ratio[1h:1m]) > 0.8`, query: `max_over_time(instance:node_cpu:ratio[1h:1m])`, op: ">", value: 0.8, unit: "ratio"},
	{name: "subquery with offset", expr: `sum_over_time(up[1h:5m] offset 1d) < 10`, query: `sum_over_time(up[1h:5m] offset 1d)`, op: "<", value: 10},
	{name: "matchers with != and =~", expr: `x{a!="1",b=~"2|3",c!~"4"} != 0`, query: `x{a!="1",b=~"2|3",c!~"4"}`, op: "!=", value: 0},
	{name: "leading and trailing space", expr: "  up  ", query: "up"},
	{name: "empty", expr: "", query: ""},
	{name: "only a comment", expr: "# nothing\n", query: "# nothing"},
	{name: "unbalanced", expr: ` rate(x[5m] > 1 `, query: `rate(x[5m] > 1`},
	{name: "unterminated string", expr: `up{job="a} > 1`, query: `up{job="a} > 1`},
	{name: "comparison without a side", expr: `> 5`, query: `> 5`},
	{name: "empty parentheses", expr: `() > 1`, query: `() > 1`},
}

func TestAnalyze(t *testing.T) {
	for _, tc := range analyzeCases {
		t.Run(tc.name, func(t *testing.T) {
			a := promds.Analyze(tc.expr)
			if a.Query != tc.query {
				t.Errorf("Query:\n got %q\nwant %q", a.Query, tc.query)
			}
			switch {
			case tc.op == "" && a.Threshold != nil:
				t.Errorf("Threshold = %+v, want none", *a.Threshold)
			case tc.op != "" && a.Threshold == nil:
				t.Errorf("Threshold = none, want %s %v", tc.op, tc.value)
			case tc.op != "" && (a.Threshold.Op != tc.op || !sameFloat(a.Threshold.Value, tc.value)):
				t.Errorf("Threshold = %s %v, want %s %v", a.Threshold.Op, a.Threshold.Value, tc.op, tc.value)
			}
			if a.Unit != tc.unit {
				t.Errorf("Unit = %q, want %q", a.Unit, tc.unit)
			}
		})
	}
}

func sameFloat(a, b float64) bool {
	if math.IsInf(b, 0) || b == 0 {
		return a == b
	}
	return math.Abs(a-b) <= 1e-12*math.Abs(b)
}

// TestAnalyzeStable checks that analysing the plotted query again finds
// it plots itself: Query holds no top-level comparison with a constant.
func TestAnalyzeStable(t *testing.T) {
	for _, tc := range analyzeCases {
		a := promds.Analyze(tc.expr)
		if a.Threshold == nil {
			continue
		}
		b := promds.Analyze(a.Query)
		if b.Query != a.Query || b.Threshold != nil {
			t.Errorf("%s: Analyze(%q) = %q, %+v; want the query itself and no threshold", tc.name, a.Query, b.Query, b.Threshold)
		}
		if b.Unit != a.Unit {
			t.Errorf("%s: unit of the query alone %q, of the rule %q", tc.name, b.Unit, a.Unit)
		}
	}
}
