package charts

import (
	"math"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // the time-zone tests run on machines without /usr/share/zoneinfo
)

func TestFormatValue(t *testing.T) {
	for _, c := range []struct {
		v    float64
		u    Unit
		want string
	}{
		{1536, UnitBytes, "1.5 KiB"},
		{0, UnitBytes, "0 B"},
		{1023, UnitBytes, "1023 B"},
		{1 << 20, UnitBytes, "1 MiB"},
		{1.5 * (1 << 30), UnitBytes, "1.5 GiB"},
		{2.5e15, UnitBytes, "2.22 PiB"},
		{-1536, UnitBytes, "-1.5 KiB"},
		{2048, UnitBytesPerSecond, "2 KiB/s"},
		{0.25, UnitSeconds, "250 ms"},
		{90, UnitSeconds, "1.5 min"},
		{5400, UnitSeconds, "1.5 h"},
		{3 * 86400, UnitSeconds, "3 d"},
		{1.5e-6, UnitSeconds, "1.5 µs"},
		{3e-9, UnitSeconds, "3 ns"},
		{0.9, UnitRatio, "90 %"},
		{0.123456, UnitRatio, "12.3 %"},
		{99.5, UnitPercent, "99.5 %"},
		{21.5, UnitCelsius, "21.5 °C"},
		{12345, UnitNone, "12.3k"},
		{1.5e9, UnitNone, "1.5G"},
		{999.96, UnitNone, "1000"},
		{0.005, UnitNone, "0.005"},
		{1e-7, UnitNone, "1e-07"},
		{1500, UnitPerSecond, "1.5k/s"},
		{3, "widgets", "3 widgets"},
		{math.NaN(), UnitBytes, "NaN"},
		{math.Inf(1), UnitSeconds, "+Inf"},
		{math.Inf(-1), UnitNone, "-Inf"},
	} {
		if got := FormatValue(c.v, c.u); got != c.want {
			t.Errorf("FormatValue(%v, %q) = %q, want %q", c.v, c.u, got, c.want)
		}
	}
}

func TestNiceAxis(t *testing.T) {
	for _, c := range []struct {
		min, max float64
		u        Unit
		want     []string
	}{
		{0, 1, UnitRatio, []string{"0 %", "20 %", "40 %", "60 %", "80 %", "100 %"}},
		// CPU near its limit: no zero, and never past 100 %.
		{0.5, 0.95, UnitRatio, []string{"50 %", "60 %", "70 %", "80 %", "90 %", "100 %"}},
		{0.97, 1, UnitRatio, []string{"97 %", "98 %", "99 %", "100 %"}},
		{20, 99, UnitPercent, []string{"0 %", "20 %", "40 %", "60 %", "80 %", "100 %"}},
		// Bytes in one binary prefix for the whole axis.
		{0, 3.2 * (1 << 30), UnitBytes, []string{"0 GiB", "1 GiB", "2 GiB", "3 GiB", "4 GiB"}},
		// A constant: a range around it, labels with the decimals needed.
		{1536, 1536, UnitBytes, []string{"1.3 KiB", "1.4 KiB", "1.5 KiB", "1.6 KiB", "1.7 KiB"}},
		{5, 5, UnitNone, []string{"4.4", "4.6", "4.8", "5.0", "5.2", "5.4", "5.6"}},
		{0, 0, UnitNone, []string{"0", "0.2", "0.4", "0.6", "0.8", "1.0"}},
		// Zero is near: the axis starts there.
		{0.1, 0.62, UnitSeconds, []string{"0 ms", "200 ms", "400 ms", "600 ms", "800 ms"}},
		{1e-9, 3e-9, UnitSeconds, []string{"0 ns", "1 ns", "2 ns", "3 ns"}},
		{0, 7200, UnitSeconds, []string{"0 h", "0.5 h", "1.0 h", "1.5 h", "2.0 h"}},
		{-5, 5, UnitNone, []string{"-6", "-4", "-2", "0", "2", "4", "6"}},
		{1e15, 2e15, UnitNone, []string{"1.0P", "1.2P", "1.4P", "1.6P", "1.8P", "2.0P"}},
		{0, 2.5e6, UnitPerSecond, []string{"0/s", "0.5M/s", "1.0M/s", "1.5M/s", "2.0M/s", "2.5M/s"}},
		{12, 12.5, UnitCelsius, []string{"12.0 °C", "12.1 °C", "12.2 °C", "12.3 °C", "12.4 °C", "12.5 °C"}},
		// Differences far below the values' size: enough digits to tell the ticks apart.
		{1e6, 1e6 + 1, UnitNone, []string{"1.0000000M", "1.0000002M", "1.0000004M", "1.0000006M", "1.0000008M", "1.0000010M"}},
		{-3e-7, 2e-7, UnitNone, []string{"-3e-07", "-2e-07", "-1e-07", "0", "1e-07", "2e-07"}},
	} {
		ax := niceAxis(c.min, c.max, 4, c.u)
		if !slices.Equal(ax.labels, c.want) {
			t.Errorf("niceAxis(%v, %v, %q) labels %q, want %q", c.min, c.max, c.u, ax.labels, c.want)
		}
		if ax.lo > c.min || ax.hi < c.max || ax.lo >= ax.hi {
			t.Errorf("niceAxis(%v, %v, %q) spans [%v, %v], not the data", c.min, c.max, c.u, ax.lo, ax.hi)
		}
		if len(ax.ticks) != len(ax.labels) || ax.ticks[0] != ax.lo || math.Abs(ax.ticks[len(ax.ticks)-1]-ax.hi) > (ax.hi-ax.lo)*1e-9 {
			t.Errorf("niceAxis(%v, %v, %q) ticks %v do not run from lo %v to hi %v", c.min, c.max, c.u, ax.ticks, ax.lo, ax.hi)
		}
	}
}

func TestNiceAxisExtremes(t *testing.T) {
	for _, r := range [][2]float64{{-1e300, 1e300}, {1e300, 1e300}, {-1e300, -1e300}, {1e-300, 2e-300}, {0, 1e-300}, {1, 1 + 1e-15},
		{5e-324, 1e-323}, {0, 5e-324}, {-5e-324, 5e-324}, {1e-295, 1e-294}} {
		for _, u := range []Unit{UnitNone, UnitBytes, UnitSeconds, UnitRatio, UnitPercent} {
			ax := niceAxis(r[0], r[1], 4, u)
			if !(ax.lo < ax.hi) || !(ax.hi-ax.lo > 0) || math.IsInf(ax.lo, 0) || math.IsInf(ax.hi, 0) || len(ax.ticks) < 2 || len(ax.ticks) > 50 {
				t.Errorf("niceAxis(%v, %v, %q) = [%v, %v] with %d ticks", r[0], r[1], u, ax.lo, ax.hi, len(ax.ticks))
			}
			if len(ax.labels) > 1 && ax.labels[0] == ax.labels[1] {
				t.Errorf("niceAxis(%v, %v, %q) labels %q repeat", r[0], r[1], u, ax.labels)
			}
		}
	}
}

func TestTimeTicks(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	utc := func(h, m int) time.Time { return time.Date(2026, 3, 14, h, m, 0, 0, time.UTC) }
	for _, c := range []struct {
		name     string
		from, to time.Time
		loc      *time.Location
		want     []string
	}{
		{"2.5 h by 30 min", utc(10, 35), utc(13, 5), time.UTC, []string{"11:00", "11:30", "12:00", "12:30", "13:00"}},
		{"1 h by 15 min", utc(12, 5), utc(13, 5), time.UTC, []string{"12:15", "12:30", "12:45", "13:00"}},
		{"10 min", utc(12, 55), utc(13, 5), time.UTC, []string{"12:56", "12:58", "13:00", "13:02", "13:04"}},
		{"half-hour zone", utc(10, 35), utc(13, 5), kolkata, []string{"16:30", "17:00", "17:30", "18:00", "18:30"}},
		{"36 h: midnight as the date", utc(0, 0).Add(-12 * time.Hour), utc(0, 0).Add(24 * time.Hour), time.UTC, []string{"12:00", "Mar 14", "12:00", "Mar 15"}},
		{"days", utc(0, 0).Add(-72 * time.Hour), utc(0, 0), time.UTC, []string{"Mar 11", "Mar 12", "Mar 13", "Mar 14"}},
		{"30 days", utc(0, 0).Add(-30 * 24 * time.Hour), utc(0, 0), time.UTC, []string{"Feb 12", "Feb 19", "Feb 26", "Mar 5", "Mar 12"}},
		{"seconds", utc(13, 0), utc(13, 0).Add(20 * time.Second), time.UTC, []string{"13:00:00", "13:00:05", "13:00:10", "13:00:15", "13:00:20"}},
		// 29 March 2026 02:00 does not exist in Berlin: the ticks skip it.
		{"DST", time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), time.Date(2026, 3, 29, 5, 0, 0, 0, berlin), berlin, []string{"00:00", "01:00", "03:00", "04:00", "05:00"}},
	} {
		ticks := timeTicks(c.from, c.to, c.loc, 6)
		var got []string
		for _, tk := range ticks {
			got = append(got, tk.label)
			if tk.t.Before(c.from) || tk.t.After(c.to) {
				t.Errorf("%s: tick %v outside [%v, %v]", c.name, tk.t, c.from, c.to)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: ticks %q, want %q", c.name, got, c.want)
		}
	}
}

func TestTimeTicksBounded(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, span := range []time.Duration{time.Nanosecond, time.Second, 100 * 365 * 24 * time.Hour, 1 << 62} {
		if n := len(timeTicks(from, from.Add(span), time.UTC, 6)); n > 14 {
			t.Errorf("span %v: %d ticks", span, n)
		}
	}
}
