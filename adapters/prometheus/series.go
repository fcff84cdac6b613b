package prometheus

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Result is a range query's answer.
type Result struct {
	// Series are the answer's series in Prometheus's order (sorted by
	// labels). A series may have no points (native histograms only,
	// which are not read).
	Series []Series
	// Warnings are Prometheus's warnings and infos, at most 10, each at
	// most 500 bytes.
	Warnings []string
}

// Series is one time series of a range query's answer.
type Series struct {
	// Labels are the series' labels, __name__ included when the
	// expression keeps it.
	Labels map[string]string
	// Points are the samples, oldest first.
	Points []Point
}

// Point is one sample: a time and its value, which may be NaN or ±Inf.
type Point struct {
	T time.Time
	V float64
}

// TargetPoints is how many points per series Step aims at: about two
// pixels per point on a 600-pixel-wide graph.
const TargetPoints = 300

// MaxPoints is the most points per series Prometheus answers for a range
// query; asking for more is refused (bad_data).
const MaxPoints = 11000

// niceSteps are the steps Step picks from: each divides the next larger
// unit (a minute, an hour, a day), so points fall on round clock times.
var niceSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// Step returns the step for a range query over window: window/TargetPoints
// rounded up to the next of 1s 2s 5s 10s 15s 30s 1m 2m 5m 10m 15m 30m 1h
// 2h 3h 6h 12h 1d, or to whole days past that; at least 1 s. An hour gives
// 15 s (241 points), not 12 s (301): 15 s is the most common scrape
// interval and divides 30 s and 1 m, so a step of 15 s shows each sample
// once where 12 s would show some twice and skip others; round steps also
// put points on round clock times, which keeps a graph drawn twice the same
// and lets query caches (Thanos, Mimir) reuse answers. Rounding up keeps at
// most TargetPoints steps (TargetPoints+1 points) per series, far below
// MaxPoints. Every step up
// to a day divides a day, so the day before (DayBefore) falls on the same
// clock times.
func Step(window time.Duration) time.Duration {
	if window <= 0 {
		return time.Second
	}
	raw := (window + TargetPoints - 1) / TargetPoints
	for _, s := range niceSteps {
		if s >= raw {
			return s
		}
	}
	day := 24 * time.Hour
	return (raw + day - 1) / day * day
}

// Points is how many points per series a range query from start to end at
// step answers: one at start and one every step up to end.
func Points(start, end time.Time, step time.Duration) int64 {
	if step <= 0 || end.Before(start) {
		return 0
	}
	return int64(end.Sub(start)/step) + 1
}

// Top keeps the n series that matter most to an alert, in that order, and
// says how many it left out (for a "+N more" note). With no threshold or
// one with > or >=, the series with the highest maximum come first: alerts
// fire on peaks, and a spike that fired the alert and passed is still why
// the card exists, where the last value depends on when the graph is drawn
// and the mean hides the spike. With < or <= the lowest minimum comes first
// (free disk space, replicas available). With == or != the series whose
// points meet the comparison most often come first (up == 0: the targets
// that were down), then the highest maximum. NaN points are ignored; a
// series without a number comes last. Ties go by Name, so a graph drawn
// twice keeps its series and their colours in the same order. The slice
// returned is new; the series are shared with ss.
func Top(ss []Series, n int, th *Threshold) (kept []Series, more int) {
	if n < 0 {
		n = 0
	}
	type ranked struct {
		s      Series
		hits   int
		key    float64 // larger first
		hasNum bool
		name   string
	}
	rs := make([]ranked, len(ss))
	for i, s := range ss {
		r := ranked{s: s, name: s.Labels["__name__"] + seriesName(s.Labels, nil)}
		lowest := th != nil && (th.Op == "<" || th.Op == "<=")
		for _, p := range s.Points {
			if math.IsNaN(p.V) {
				continue
			}
			k := p.V
			if lowest {
				k = -k
			}
			if !r.hasNum || k > r.key {
				r.key = k
			}
			r.hasNum = true
			if th != nil && (th.Op == "==" || th.Op == "!=") && (p.V == th.Value) == (th.Op == "==") {
				r.hits++
			}
		}
		rs[i] = r
	}
	slices.SortStableFunc(rs, func(a, b ranked) int {
		switch {
		case a.hits != b.hits:
			return b.hits - a.hits
		case a.hasNum != b.hasNum:
			if a.hasNum {
				return -1
			}
			return 1
		case a.key > b.key:
			return -1
		case a.key < b.key:
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	if n > len(rs) {
		n = len(rs)
	}
	kept = make([]Series, n)
	for i := range kept {
		kept[i] = rs[i].s
	}
	return kept, len(rs) - n
}

// Names returns a short legend name for each series, in order: its labels
// as {instance="db-1", mountpoint="/"}, sorted by name, leaving out
// __name__ and every label that has the same value in all the series,
// since it tells none of them apart. A single series keeps all its labels
// but __name__. When the metric name is what tells series apart (series of
// several metrics), it leads: node_load1{instance="a"}. Series that have
// nothing left are named {}.
func Names(ss []Series) []string {
	names := make([]string, len(ss))
	if len(ss) == 0 {
		return names
	}
	same := map[string]bool{}
	if len(ss) > 1 {
		for k, v := range ss[0].Labels {
			same[k] = true
			for _, s := range ss[1:] {
				if w, ok := s.Labels[k]; !ok || w != v {
					same[k] = false
					break
				}
			}
		}
	}
	keepName := false
	if len(ss) > 1 && !same["__name__"] {
		// Keep the metric name only when some series have one.
		for _, s := range ss {
			if s.Labels["__name__"] != "" {
				keepName = true
				break
			}
		}
	}
	for i, s := range ss {
		n := seriesName(s.Labels, same)
		if keepName {
			n = s.Labels["__name__"] + n
		}
		names[i] = n
	}
	return names
}

// seriesName formats labels without __name__ and those marked in drop.
func seriesName(labels map[string]string, drop map[string]bool) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if k != "__name__" && !drop[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		if labelName(k) {
			b.WriteString(k)
		} else {
			b.WriteString(strconv.Quote(k)) // Prometheus 3's UTF-8 names
		}
		b.WriteByte('=')
		b.WriteString(strconv.Quote(labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

func labelName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(isLetter(c) || c == '_' || (i > 0 && isDigit(c))) {
			return false
		}
	}
	return s != ""
}
