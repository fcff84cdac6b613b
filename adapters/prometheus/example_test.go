package prometheus_test

import (
	"fmt"

	promds "github.com/klaxonbot/klaxon/adapters/prometheus"
)

func ExampleAnalyze() {
	u := "http://prometheus:9090/graph?g0.expr=0.9+%3C+node_filesystem_avail_bytes+%2F+node_filesystem_size_bytes&g0.tab=1"
	expr, _ := promds.ExprFromGeneratorURL(u)
	host, _ := promds.GeneratorHost(u)
	a := promds.Analyze(expr)
	fmt.Println(host)
	fmt.Println(a.Query)
	fmt.Println(a.Threshold.Op, a.Threshold.Value, a.Unit)
	// Output:
	// prometheus:9090
	// node_filesystem_avail_bytes / node_filesystem_size_bytes
	// > 0.9 ratio
}

func ExampleNames() {
	kept, more := promds.Top([]promds.Series{
		{Labels: map[string]string{"job": "node", "instance": "db-1", "mountpoint": "/"}, Points: []promds.Point{{V: 0.97}}},
		{Labels: map[string]string{"job": "node", "instance": "db-2", "mountpoint": "/"}, Points: []promds.Point{{V: 0.42}}},
		{Labels: map[string]string{"job": "node", "instance": "db-2", "mountpoint": "/data"}, Points: []promds.Point{{V: 0.93}}},
	}, 2, &promds.Threshold{Op: ">", Value: 0.9})
	fmt.Println(promds.Names(kept), more)
	// Output: [{instance="db-1", mountpoint="/"} {instance="db-2", mountpoint="/data"}] 1
}
