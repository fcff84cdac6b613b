package charts

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

var samples = flag.Bool("samples", false, "write the sample charts to testdata/out/ to look at")

// t0 is the end of the sample charts' window.
var t0 = time.Date(2026, 3, 14, 13, 5, 0, 0, time.UTC)

// wave is n points every step up to end, around base with a daily rhythm,
// noise from seed and a rise of bump in the last quarter.
func wave(n int, step time.Duration, end time.Time, base, amp, bump float64, seed uint64) []Point {
	r := rand.New(rand.NewPCG(seed, 7))
	pts := make([]Point, n)
	for i := range pts {
		t := end.Add(-time.Duration(n-1-i) * step)
		v := base + amp*math.Sin(float64(t.Unix())/3600/24*2*math.Pi) + amp*0.15*r.NormFloat64()
		if i > n*3/4 {
			v += bump * math.Min(1, float64(i-n*3/4)/float64(n/16))
		}
		pts[i] = Point{T: t, V: v}
	}
	return pts
}

func sampleCharts() map[string]Chart {
	from := t0.Add(-150 * time.Minute)
	cpu := Chart{
		Title: "HighCPU: instance db-1 busy",
		Unit:  UnitRatio,
		Series: []Series{{Name: `{instance="db-1:9100", job="node"}`,
			Points: wave(300, 30*time.Second, t0, 0.55, 0.1, 0.38, 1)}},
		Previous: []Series{{Name: `{instance="db-1:9100", job="node"}`,
			Points: wave(300, 30*time.Second, t0.Add(-24*time.Hour), 0.55, 0.1, 0, 2)}},
		Threshold:  &Threshold{Value: 0.9, Op: ">"},
		AlertStart: t0.Add(-25 * time.Minute),
		From:       from, To: t0,
	}
	var mem []Series
	var memPrev []Series
	for i := range 5 {
		name := fmt.Sprintf(`container_memory_working_set_bytes{namespace="payments", pod="api-7d9f8c6b5-%05d", container="api", node="worker-%d.eu-west-1.compute.internal"}`, 10000+i*137, i)
		mem = append(mem, Series{Name: name, Points: wave(300, 30*time.Second, t0, float64((1+i)*700<<20), 80<<20, float64(i*200<<20), uint64(10+i))})
		memPrev = append(memPrev, Series{Name: name, Points: wave(300, 30*time.Second, t0.Add(-24*time.Hour), float64((1+i)*700<<20), 80<<20, 0, uint64(20+i))})
	}
	memory := Chart{
		Title:      "PodMemoryHigh: payments/api working set",
		Unit:       UnitBytes,
		Series:     mem,
		Previous:   memPrev,
		Threshold:  &Threshold{Value: 4 << 30, Op: ">="},
		AlertStart: t0.Add(-30 * time.Minute),
		MoreSeries: 3,
		From:       from, To: t0,
	}
	lat := wave(300, 30*time.Second, t0, 0.12, 0.03, 0.5, 3)
	for i := 100; i < 120; i++ {
		lat[i].V = math.NaN()
	}
	lat[200].V = math.Inf(1)
	latency := Chart{
		Title:      "p99 latency of checkout",
		Unit:       UnitSeconds,
		Series:     []Series{{Name: "p99", Points: lat}},
		Threshold:  &Threshold{Value: 0.5, Op: ">"},
		AlertStart: t0.Add(-20 * time.Minute),
		From:       from, To: t0,
		Location: time.FixedZone("+07", 7*3600),
	}
	big := wave(10000, time.Second, t0, 1200, 300, 900, 4)
	out := map[string]Chart{
		"cpu-light":    cpu,
		"memory-light": memory,
		"latency":      latency,
		"nodata":       {Title: "Disk almost full", Unit: UnitBytes, From: from, To: t0, Threshold: &Threshold{Value: 0.95, Op: ">"}},
		"single":       {Title: "One sample", Unit: UnitPercent, Series: []Series{{Name: "x", Points: []Point{{T: t0.Add(-time.Hour), V: 42}}}}, From: from, To: t0},
		"constant":     {Title: "Constant", Unit: UnitBytesPerSecond, Series: []Series{{Name: "flat", Points: wave(300, 30*time.Second, t0, 5<<20, 0, 0, 5)}}},
		"10k":          {Title: "10,000 points of requests per second", Unit: UnitPerSecond, Series: []Series{{Name: `{code="500"}`, Points: big}}, Threshold: &Threshold{Value: 2000, Op: ">"}, AlertStart: t0.Add(-40 * time.Minute)},
	}
	cpu.Theme, memory.Theme = ThemeDark, ThemeDark
	out["cpu-dark"], out["memory-dark"] = cpu, memory
	return out
}
