package statrec

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/klaxonbot/klaxon/incidents"
)

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sample is a Stat as a busy incident has it.
func sample() incidents.Stat {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	return incidents.Stat{
		Number: 123456, Team: "payments", Source: "alertmanager", Title: "Latency on checkout-api in eu-west-1", Severity: incidents.Sev2,
		CreatedAt: at, AckedAt: at.Add(3 * time.Minute), ResolvedAt: at.Add(40 * time.Minute), ResolvedBy: "alice", Alerts: 3,
		Rules:     []incidents.RuleCount{{Source: "alertmanager", Name: "HighLatency", Fired: 3}, {Source: "alertmanager", Name: "ErrorRate", Fired: 1}},
		Pages:     []incidents.Page{{At: at.Add(time.Minute), Kind: "mention", Person: "alice"}, {At: at.Add(2 * time.Minute), Kind: "call", Person: "alice"}},
		PageCount: 2,
	}
}

// fill sets every field of v (a struct, recursively) to a value that is
// not its zero, and fails on a kind it does not know: a field added to
// incidents.Stat is filled, and the round trip below fails until the
// record carries it.
func fill(t *testing.T, v reflect.Value, seed *int) {
	t.Helper()
	*seed++
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			zone := time.FixedZone("", (*seed%25-12)*1800)
			v.Set(reflect.ValueOf(time.Date(2026, 1, *seed, 3, 4, 5, *seed*1000+7, zone)))
			return
		}
		for i := range v.NumField() {
			fill(t, v.Field(i), seed)
		}
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d-ü", *seed))
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(*seed) * 1001)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(t, s.Index(i), seed)
		}
		v.Set(s)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(t, p.Elem(), seed)
		v.Set(p)
	default:
		t.Fatalf("fill does not know %s (%s): teach it, and the record the field", v.Type(), v.Kind())
	}
}

func roundTrip(t *testing.T, st incidents.Stat) {
	t.Helper()
	var d Decoder
	var got incidents.Stat
	if err := d.Decode(Encode(&st), &got); err != nil {
		t.Fatalf("Decode(Encode(%+v)): %v", st, err)
	}
	if g, w := mustJSON(t, got), mustJSON(t, st); g != w {
		t.Fatalf("round trip:\n got %s\nwant %s", g, w)
	}
	for _, tm := range []struct{ got, want time.Time }{{got.CreatedAt, st.CreatedAt}, {got.AckedAt, st.AckedAt}, {got.ResolvedAt, st.ResolvedAt}} {
		if !tm.got.Equal(tm.want) {
			t.Fatalf("time %v came back as %v", tm.want, tm.got)
		}
	}
}

// Every field of Stat, each set, comes back as it went in (as JSON has
// it: instant and offset).
func TestEveryFieldRoundTrips(t *testing.T) {
	var st incidents.Stat
	seed := 0
	fill(t, reflect.ValueOf(&st).Elem(), &seed)
	st.Feedback.Actionable = true
	roundTrip(t, st)
	st.Feedback.Actionable = false
	roundTrip(t, st)
	// Negative numbers, where a bug could make them so.
	st.Severity, st.Alerts = -1, -7
	roundTrip(t, st)
}

func TestRoundTrips(t *testing.T) {
	s := sample()
	roundTrip(t, s)
	roundTrip(t, incidents.Stat{Number: 1, CreatedAt: time.Unix(0, 0).UTC()}) // zero everything else
	local := sample()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err == nil {
		local.CreatedAt = local.CreatedAt.In(berlin)
	}
	local.AckedAt = local.AckedAt.In(time.FixedZone("IST", 5*3600+1800))
	local.ResolvedAt = time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC) // before 1970
	local.Pages[0].At = time.Time{}                                             // zero in a list: no omitzero there
	roundTrip(t, local)
	long := sample()
	long.Title = strings.Repeat("é", 120) + "…"
	long.Feedback = &incidents.Feedback{Actionable: true, By: "bob", At: long.CreatedAt, Why: strings.Repeat("x", 500)}
	roundTrip(t, long)
}

// A decoder shares the strings that repeat between records.
func TestDecoderInterns(t *testing.T) {
	s := sample()
	data := Encode(&s)
	var d Decoder
	var a, b incidents.Stat
	if err := d.Decode(data, &a); err != nil {
		t.Fatal(err)
	}
	if err := d.Decode(data, &b); err != nil {
		t.Fatal(err)
	}
	if a.Team != b.Team || !sameString(a.Team, b.Team) || !sameString(a.Rules[0].Name, b.Rules[0].Name) || !sameString(a.Title, b.Title) {
		t.Fatal("the same team, rule and title decoded twice are held twice")
	}
}

// sameString reports whether a and b share their bytes.
func sameString(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

func TestDecodeRefusesDamage(t *testing.T) {
	s := sample()
	data := Encode(&s)
	var d Decoder
	var st incidents.Stat
	for n := range len(data) {
		if err := d.Decode(data[:n], &st); err == nil {
			t.Fatalf("Decode of the first %d of %d bytes succeeded", n, len(data))
		}
	}
	if err := d.Decode(append(data, 0), &st); err == nil || !strings.Contains(err.Error(), "after its end") {
		t.Fatalf("Decode with a byte too many = %v", err)
	}
	bad := append([]byte{9}, data[1:]...)
	if err := d.Decode(bad, &st); err == nil || !strings.Contains(err.Error(), "version 9") {
		t.Fatalf("Decode of version 9 = %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	s := sample()
	f.Add(Encode(&s))
	f.Add(Encode(&incidents.Stat{Number: 1}))
	long := sample()
	long.Feedback = &incidents.Feedback{By: "bob", Why: "noise"}
	f.Add(Encode(&long))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Decoder
		var st incidents.Stat
		if err := d.Decode(data, &st); err != nil {
			return
		}
		// What decodes encodes to a record that decodes the same.
		var again incidents.Stat
		if err := d.Decode(Encode(&st), &again); err != nil {
			t.Fatalf("re-encoded record fails: %v", err)
		}
		if !reflect.DeepEqual(again, st) {
			t.Fatalf("re-encoded record differs:\n got %+v\nwant %+v", again, st)
		}
	})
}

func TestCheck(t *testing.T) {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		opts incidents.StatsOptions
		want string
	}{
		{incidents.StatsOptions{}, "set both since and until"},
		{incidents.StatsOptions{Since: at}, "set both since and until"},
		{incidents.StatsOptions{Until: at}, "set both since and until"},
		{incidents.StatsOptions{Since: at, Until: at}, "must be after"},
		{incidents.StatsOptions{Since: at, Until: at.Add(-time.Second)}, "must be after"},
		{incidents.StatsOptions{Since: at, Until: at.Add(time.Nanosecond)}, ""},
	} {
		err := Check(c.opts)
		if c.want == "" {
			if err != nil {
				t.Errorf("Check(%+v) = %v", c.opts, err)
			}
			continue
		}
		if incidents.ErrorKind(err) != incidents.Invalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check(%+v) = %v, want Invalid saying %q", c.opts, err, c.want)
		}
	}
	if err := TooMany(incidents.StatsOptions{Team: "payments", Since: at, Until: at.Add(time.Hour)}, 10); incidents.ErrorKind(err) != incidents.Invalid ||
		!strings.Contains(err.Error(), `team "payments" opened more than 10 incidents`) {
		t.Errorf("TooMany = %v", err)
	}
	if Limit(0) != incidents.MaxStats || Limit(incidents.MaxStats+1) != incidents.MaxStats || Limit(7) != 7 {
		t.Error("Limit does not keep to 1..MaxStats")
	}
}

func TestKeepsAndSort(t *testing.T) {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	opts := incidents.StatsOptions{Team: "payments", Since: at, Until: at.Add(time.Hour)}
	for _, c := range []struct {
		st   incidents.Stat
		want bool
	}{
		{incidents.Stat{Team: "payments", CreatedAt: at}, true},
		{incidents.Stat{Team: "payments", CreatedAt: at.Add(-time.Nanosecond)}, false},
		{incidents.Stat{Team: "payments", CreatedAt: at.Add(time.Hour - time.Nanosecond)}, true},
		{incidents.Stat{Team: "payments", CreatedAt: at.Add(time.Hour)}, false},
		{incidents.Stat{Team: "search", CreatedAt: at}, false},
		{incidents.Stat{CreatedAt: at}, false},
	} {
		if got := Keeps(opts, &c.st); got != c.want {
			t.Errorf("Keeps(%s at %v) = %v", c.st.Team, c.st.CreatedAt, got)
		}
	}
	if !Keeps(incidents.StatsOptions{Since: at, Until: at.Add(time.Hour)}, &incidents.Stat{CreatedAt: at}) {
		t.Error("an incident of no team is not kept by a report of every team")
	}
	stats := []incidents.Stat{
		{Number: 1, CreatedAt: at}, {Number: 3, CreatedAt: at.Add(-time.Minute)}, {Number: 2, CreatedAt: at}, {Number: 4, CreatedAt: at.Add(time.Second)},
	}
	Sort(stats)
	var got []int64
	for _, st := range stats {
		got = append(got, st.Number)
	}
	if fmt.Sprint(got) != "[3 1 2 4]" {
		t.Fatalf("Sort = %v, want [3 1 2 4] (oldest first, then by number)", got)
	}
}

func BenchmarkDecode(b *testing.B) {
	s := sample()
	data := Encode(&s)
	js := []byte(mustJSON(b, s))
	b.Run("record", func(b *testing.B) {
		var d Decoder
		var st incidents.Stat
		for b.Loop() {
			if err := d.Decode(data, &st); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(data)), "bytes")
	})
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			var st incidents.Stat
			if err := json.Unmarshal(js, &st); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(js)), "bytes")
	})
}

func TestDecodeString(t *testing.T) {
	s := sample()
	data := string(Encode(&s))
	var d Decoder
	var got incidents.Stat
	if err := d.DecodeString(data, &got); err != nil {
		t.Fatal(err)
	}
	if g, w := mustJSON(t, got), mustJSON(t, s); g != w {
		t.Fatalf("DecodeString:\n got %s\nwant %s", g, w)
	}
	if err := d.DecodeString(data[:10], &got); err == nil {
		t.Fatal("DecodeString of a truncated record succeeded")
	}
}
