package prometheus

import (
	"context"
	"errors"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Plot is what a graph of an alert shows: what Analyze found in its
// expression, the series that matter most (Top) with their legend names,
// and the same series over the same window a day earlier.
type Plot struct {
	Analysis
	// Start, End and Step are the window queried.
	Start, End time.Time
	Step       time.Duration
	// Series are the series kept, most important first; Names their
	// legend names; More how many series the answer had beyond them.
	Series []Series
	Names  []string
	More   int
	// Previous are the kept series' values a Day earlier, as the data
	// source returned them (times a day before Series'), and
	// PreviousNames the names of the series each belongs to. A kept
	// series with no data a day earlier has none.
	Previous      []Series
	PreviousNames []string
	// PreviousErr is why the day before is missing: the graph is drawn
	// without it.
	PreviousErr error
	// Warnings are the data source's warnings about either query.
	Warnings []string
}

// Plot asks for Analyze(expr).Query from start to end (Step for the
// window) and, at the same time, over the window a Day earlier, and keeps
// the max series that matter most. Each query takes at most the client's
// timeout. An error of the first query is Plot's error; one of the day
// before only leaves it out (PreviousErr). An answer over the size cap
// (thousands of series) is asked for again as topk(max, query) (bottomk
// for a "<" threshold), and More counts the series count(query) finds.
func (c *Client) Plot(ctx context.Context, expr string, start, end time.Time, max int) (Plot, error) {
	p := Plot{Analysis: Analyze(expr), Start: start, End: end, Step: Step(end.Sub(start))}
	var prev Result
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		prev, p.PreviousErr = c.QueryRange(ctx, p.Query, start.Add(-Day), end.Add(-Day), p.Step)
	}()
	now, err := c.QueryRange(ctx, p.Query, start, end, p.Step)
	wg.Wait()
	total := -1 // the series the answer would have had, when it was too large to read
	if errors.Is(err, ErrTooLarge) {
		// More series than the size cap holds (an expression over 10,000
		// series): ask for the ones that matter most at each step, the
		// same way a day earlier, and count them all.
		sel := p.selector(max)
		if now, err = c.QueryRange(ctx, sel, start, end, p.Step); err != nil {
			return Plot{}, err
		}
		prev, p.PreviousErr = c.QueryRange(ctx, sel, start.Add(-Day), end.Add(-Day), p.Step)
		if n, cerr := c.QueryRange(ctx, "count("+p.Query+")", start, end, p.Step); cerr == nil && len(n.Series) == 1 {
			for _, pt := range n.Series[0].Points {
				if !math.IsNaN(pt.V) && int(pt.V) > total {
					total = int(pt.V)
				}
			}
		}
	}
	if err != nil {
		return Plot{}, err
	}
	p.Warnings = append(now.Warnings, prev.Warnings...)
	names := Names(now.Series)
	nameOf := make(map[string]string, len(now.Series))
	for i, s := range now.Series {
		nameOf[labelKey(s.Labels)] = names[i]
	}
	p.Series, p.More = Top(now.Series, max, p.Threshold)
	if total > len(p.Series) {
		p.More = total - len(p.Series)
	}
	p.Names = make([]string, len(p.Series))
	kept := make(map[string]bool, len(p.Series))
	for i, s := range p.Series {
		k := labelKey(s.Labels)
		p.Names[i], kept[k] = nameOf[k], true
	}
	for _, s := range prev.Series {
		if k := labelKey(s.Labels); kept[k] {
			p.Previous = append(p.Previous, s)
			p.PreviousNames = append(p.PreviousNames, nameOf[k])
		}
	}
	return p, nil
}

// selector asks for the n series that matter most to the alert at each
// step (as Top orders them): the lowest for a "<" threshold, else the
// highest.
func (p Plot) selector(n int) string {
	fn := "topk"
	if th := p.Threshold; th != nil && (th.Op == "<" || th.Op == "<=") {
		fn = "bottomk"
	}
	return fn + "(" + strconv.Itoa(n) + ", " + p.Query + ")"
}

// labelKey identifies a series by its labels.
func labelKey(ls map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(ls)) {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(ls[k])
		b.WriteByte(0)
	}
	return b.String()
}
