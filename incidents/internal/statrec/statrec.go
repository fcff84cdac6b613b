// Package statrec holds what redisstore and boltstore share to keep
// incidents.Stat: the compact record each store files with every change
// of an incident, the checks of StatsOptions (so that both stores refuse
// the same calls with the same messages), and which records Stats keeps
// and in what order.
//
// A record is binary, not JSON: a report reads tens of thousands of them,
// and decoding one takes about a tenth of the time its JSON takes (no
// times to parse, no field names to match), in a third of the bytes, which
// Redis keeps in memory. Layout (version 1), every integer a varint of
// encoding/binary (unsigned where it cannot be negative):
//
//	1                          the record's version
//	number
//	team, source, title        each a string: its length, its bytes
//	severity
//	created, acked, resolved   each a time (below)
//	resolvedBy
//	alerts, flaps, pageCount
//	rules                      how many, then source, name, fired of each
//	pages                      how many, then at, kind, person of each
//	feedback                   0 for none; 1, then actionable (0 or 1),
//	                           by, at, why
//
// A time is 0 for the zero time; else 1 (offset 0, UTC) or 2 followed by
// the zone's offset in seconds; then the Unix seconds and the
// nanoseconds. A time keeps its instant and its offset, what its JSON
// keeps, not its zone's name.
package statrec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
	"unsafe"

	"github.com/klaxonbot/klaxon/incidents"
)

const version = 1

// Append appends the record of st to dst.
func Append(dst []byte, st *incidents.Stat) []byte {
	b := append(dst, version)
	b = binary.AppendVarint(b, st.Number)
	b = appendString(b, st.Team)
	b = appendString(b, st.Source)
	b = appendString(b, st.Title)
	b = binary.AppendVarint(b, int64(st.Severity))
	b = appendTime(b, st.CreatedAt)
	b = appendTime(b, st.AckedAt)
	b = appendTime(b, st.ResolvedAt)
	b = appendString(b, st.ResolvedBy)
	b = binary.AppendVarint(b, int64(st.Alerts))
	b = binary.AppendVarint(b, int64(st.Flaps))
	b = binary.AppendVarint(b, int64(st.PageCount))
	b = binary.AppendUvarint(b, uint64(len(st.Rules)))
	for _, r := range st.Rules {
		b = appendString(b, r.Source)
		b = appendString(b, r.Name)
		b = binary.AppendVarint(b, int64(r.Fired))
	}
	b = binary.AppendUvarint(b, uint64(len(st.Pages)))
	for _, p := range st.Pages {
		b = appendTime(b, p.At)
		b = appendString(b, p.Kind)
		b = appendString(b, p.Person)
	}
	if f := st.Feedback; f == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		if f.Actionable {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = appendString(b, f.By)
		b = appendTime(b, f.At)
		b = appendString(b, f.Why)
	}
	return b
}

// Encode returns the record of st.
func Encode(st *incidents.Stat) []byte { return Append(make([]byte, 0, 128), st) }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	if _, off := t.Zone(); off == 0 {
		b = append(b, 1)
	} else {
		b = append(b, 2)
		b = binary.AppendVarint(b, int64(off))
	}
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// maxInterned bounds the strings a Decoder keeps; maxInternLen the
// length of one it keeps.
const (
	maxInterned  = 4096
	maxInternLen = 256
)

// A Decoder decodes records. It shares the strings that repeat from one
// record to the next (teams, sources, rule names, people, titles), so
// that a report of a hundred thousand incidents holds each once, and the
// zones of times. It is not safe for concurrent use; its zero value is
// ready.
type Decoder struct {
	strs  map[string]string
	zones map[int]*time.Location
}

var errShort = errors.New("stat record: truncated")

// Decode decodes the record data into st.
func (d *Decoder) Decode(data []byte, st *incidents.Stat) error {
	if len(data) == 0 {
		return errShort
	}
	if data[0] != version {
		return fmt.Errorf("stat record: version %d, want %d", data[0], version)
	}
	r := reader{d: d, b: data[1:]}
	*st = incidents.Stat{
		Number: r.varint(),
		Team:   r.str(), Source: r.str(), Title: r.str(),
		Severity:  incidents.Severity(r.varint()),
		CreatedAt: r.time(), AckedAt: r.time(), ResolvedAt: r.time(),
		ResolvedBy: r.str(),
		Alerts:     int(r.varint()), Flaps: int(r.varint()), PageCount: int(r.varint()),
	}
	if n := r.count(); n > 0 {
		st.Rules = make([]incidents.RuleCount, n)
		for i := range st.Rules {
			st.Rules[i] = incidents.RuleCount{Source: r.str(), Name: r.str(), Fired: int(r.varint())}
		}
	}
	if n := r.count(); n > 0 {
		st.Pages = make([]incidents.Page, n)
		for i := range st.Pages {
			st.Pages[i] = incidents.Page{At: r.time(), Kind: r.str(), Person: r.str()}
		}
	}
	switch r.byte() {
	case 0:
	case 1:
		f := &incidents.Feedback{Actionable: r.byte() == 1}
		f.By, f.At, f.Why = r.str(), r.time(), r.str()
		st.Feedback = f
	default:
		r.fail(errors.New("stat record: bad feedback"))
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("stat record: %d bytes after its end", len(r.b))
	}
	return r.err
}

// DecodeString decodes the record data, as Redis answers it, into st
// without copying it: Decode never keeps nor changes its input.
func (d *Decoder) DecodeString(data string, st *incidents.Stat) error {
	return d.Decode(unsafe.Slice(unsafe.StringData(data), len(data)), st)
}

// reader reads a record; the first error sticks, and every read after it
// returns zero values.
type reader struct {
	d   *Decoder
	b   []byte
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail(errShort)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail(errShort)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(errShort)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads how many items follow; each takes at least a byte, which
// bounds what a corrupt count can make Decode allocate.
func (r *reader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail(errShort)
		return 0
	}
	return int(n)
}

func (r *reader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail(errShort)
		return ""
	}
	b := r.b[:n]
	r.b = r.b[n:]
	if n == 0 {
		return ""
	}
	d := r.d
	if n > maxInternLen {
		return string(b)
	}
	if s, ok := d.strs[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	if d.strs == nil {
		d.strs = map[string]string{}
	}
	if len(d.strs) < maxInterned {
		d.strs[s] = s
	}
	return s
}

func (r *reader) time() time.Time {
	var loc *time.Location
	switch r.byte() {
	case 0:
		return time.Time{}
	case 1:
		loc = time.UTC
	case 2:
		off := r.varint()
		if off <= -24*3600 || off >= 24*3600 {
			r.fail(errors.New("stat record: bad zone offset"))
			return time.Time{}
		}
		loc = r.d.zone(int(off))
	default:
		r.fail(errors.New("stat record: bad time"))
		return time.Time{}
	}
	sec := r.varint()
	nsec := r.uvarint()
	if nsec >= 1e9 {
		r.fail(errors.New("stat record: bad nanoseconds"))
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).In(loc)
}

func (d *Decoder) zone(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	if z, ok := d.zones[off]; ok {
		return z
	}
	if d.zones == nil {
		d.zones = map[int]*time.Location{}
	}
	z := time.FixedZone("", off)
	d.zones[off] = z
	return z
}

// Check refuses the options Stats cannot answer (Invalid): a window
// without both ends, or one that ends where or before it starts.
func Check(opts incidents.StatsOptions) error {
	if opts.Since.IsZero() || opts.Until.IsZero() {
		return incidents.Errorf(incidents.Invalid, "a report needs a time range: set both since and until")
	}
	if !opts.Until.After(opts.Since) {
		return incidents.Errorf(incidents.Invalid, "until (%s) must be after since (%s)",
			opts.Until.UTC().Format(time.RFC3339), opts.Since.UTC().Format(time.RFC3339))
	}
	return nil
}

// Limit is how many records a store's Stats returns at most: max, when
// within 1..incidents.MaxStats, else incidents.MaxStats.
func Limit(max int) int {
	if max <= 0 || max > incidents.MaxStats {
		return incidents.MaxStats
	}
	return max
}

// TooMany is the error of a Stats call that would return more than limit
// records (Invalid).
func TooMany(opts incidents.StatsOptions, limit int) error {
	who := "every team"
	if opts.Team != "" {
		who = fmt.Sprintf("team %q", opts.Team)
	}
	return incidents.Errorf(incidents.Invalid, "%s opened more than %d incidents from %s to %s: ask for a shorter time range",
		who, limit, opts.Since.UTC().Format(time.RFC3339), opts.Until.UTC().Format(time.RFC3339))
}

// Window is the ListOptions whose time window is opts': stores turn it
// into a range of numbers as List does (see incidents.CreationSkew).
func Window(opts incidents.StatsOptions) incidents.ListOptions {
	return incidents.ListOptions{Team: opts.Team, Since: opts.Since, Until: opts.Until}
}

// Keeps reports whether st is one of the incidents opts asks for: of its
// team (any, when opts name none), created within [Since, Until). Stores
// check what their indexes found against the record itself, so that an
// entry a crash left stale, or one found through the window widened by
// incidents.CreationSkew, never shows.
func Keeps(opts incidents.StatsOptions, st *incidents.Stat) bool {
	return (opts.Team == "" || st.Team == opts.Team) && !st.CreatedAt.Before(opts.Since) && st.CreatedAt.Before(opts.Until)
}

// Sort puts stats in the order Stats returns them: oldest first, by
// creation time, then by number. Stores read them by number, which
// follows creation time give or take incidents.CreationSkew, so the sort
// has little to move.
func Sort(stats []incidents.Stat) {
	if !slices.IsSortedFunc(stats, older) {
		slices.SortStableFunc(stats, older)
	}
}

func older(a, b incidents.Stat) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	switch {
	case a.Number < b.Number:
		return -1
	case a.Number > b.Number:
		return 1
	}
	return 0
}
