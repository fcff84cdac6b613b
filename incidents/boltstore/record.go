package boltstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
	"github.com/klaxonbot/klaxon/incidents/internal/statrec"
)

// An incident is stored as records that share its number (8 bytes,
// big-endian) as the key's prefix:
//
//	incidents  number                 → the summary: the incident without
//	                                    its alerts and timeline, Events set
//	incalerts  number fingerprint     → position (4) status (1) alert JSON
//	incorder   number position (4)    → fingerprint, first seen first
//	incrank    number status position → fingerprint (status 0 firing,
//	                                    1 resolved): the card's order
//	incevents  number index (4)       → event JSON, oldest first
//	stats      number                 → the incident's Stat (statrec)
//
// put writes what a change changed: the summary and the Stat, the alerts
// whose encoding changed, the events added. Alerts are never removed.

const (
	rankFiring   = 0
	rankResolved = 1
)

func rankOf(st incidents.AlertStatus) byte {
	if st == incidents.AlertFiring {
		return rankFiring
	}
	return rankResolved
}

func subKey(n int64, parts ...[]byte) []byte {
	size := 8
	for _, p := range parts {
		size += len(p)
	}
	k := make([]byte, 8, size)
	binary.BigEndian.PutUint64(k, uint64(n))
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func u32(v int) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(v))
	return b[:]
}

// alertHead is the prefix of an incalerts value: position and status.
const alertHead = 5

func loadCore(tx *bolt.Tx, n int64) (*incidents.Incident, error) {
	v := tx.Bucket(bktIncidents).Get(key(n))
	if v == nil {
		return nil, nil
	}
	inc := new(incidents.Incident)
	if err := json.Unmarshal(v, inc); err != nil {
		return nil, fmt.Errorf("decode incident %d: %w", n, err)
	}
	inc.Alerts, inc.Timeline = nil, nil
	return inc, nil
}

func decodeAlert(n int64, v []byte) (incidents.Alert, error) {
	var a incidents.Alert
	if len(v) < alertHead {
		return a, fmt.Errorf("alert of incident %d is %d bytes", n, len(v))
	}
	if err := json.Unmarshal(v[alertHead:], &a); err != nil {
		return a, fmt.Errorf("decode alert of incident %d: %w", n, err)
	}
	return a, nil
}

// loadPart returns the incident with only the alerts named by fps (those
// it has) and none of its timeline, or nil when it does not exist.
func loadPart(tx *bolt.Tx, n int64, fps []string) (*incidents.Incident, error) {
	inc, err := loadCore(tx, n)
	if inc == nil || err != nil {
		return nil, err
	}
	inc.Alerts = []incidents.Alert{}
	b := tx.Bucket(bktIAlerts)
	seen := map[string]bool{}
	for _, fp := range fps {
		if seen[fp] {
			continue
		}
		seen[fp] = true
		if v := b.Get(subKey(n, []byte(fp))); v != nil {
			a, err := decodeAlert(n, v)
			if err != nil {
				return nil, err
			}
			inc.Alerts = append(inc.Alerts, a)
		}
	}
	return inc, nil
}

// loadFull returns the whole incident, or nil when it does not exist.
func loadFull(tx *bolt.Tx, n int64) (*incidents.Incident, error) {
	inc, err := loadCore(tx, n)
	if inc == nil || err != nil {
		return nil, err
	}
	inc.Alerts = make([]incidents.Alert, 0, inc.AlertsFiring+inc.AlertsResolved)
	alerts := tx.Bucket(bktIAlerts)
	prefix := key(n)
	c := tx.Bucket(bktIOrder).Cursor()
	for k, fp := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, fp = c.Next() {
		v := alerts.Get(subKey(n, fp))
		if v == nil {
			continue
		}
		a, err := decodeAlert(n, v)
		if err != nil {
			return nil, err
		}
		inc.Alerts = append(inc.Alerts, a)
	}
	inc.Timeline = make([]incidents.Event, 0, inc.Events)
	c = tx.Bucket(bktIEvents).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var e incidents.Event
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("decode event of incident %d: %w", n, err)
		}
		inc.Timeline = append(inc.Timeline, e)
	}
	inc.Events = len(inc.Timeline)
	return inc, nil
}

// put stores inc (its Version already advanced) over prev, what was loaded
// (nil for a new incident; it may hold only some alerts and none of the
// timeline): its summary and its Stat, the alerts whose encoding changed,
// the events beyond prev's. It files it in the indexes and marks it
// pending in the outbox, all in tx.
func put(tx *bolt.Tx, prev, inc *incidents.Incident) error {
	n := inc.Number
	inc.Events = len(inc.Timeline)
	if prev != nil {
		inc.Events = prev.Events + len(inc.Timeline) - len(prev.Timeline)
	}
	if err := putAlerts(tx, prev, inc); err != nil {
		return err
	}
	if err := putEvents(tx, prev, inc); err != nil {
		return err
	}
	sum := *inc
	sum.Alerts, sum.Timeline = nil, nil
	data, err := json.Marshal(&sum)
	if err != nil {
		return err
	}
	k := key(n)
	if err := tx.Bucket(bktIncidents).Put(k, data); err != nil {
		return err
	}
	if err := putStat(tx, inc); err != nil {
		return err
	}
	if err := enqueue(tx, k, time.Now()); err != nil {
		return err
	}
	if err := fileDue(tx, k, inc.Due()); err != nil {
		return err
	}
	return index(tx, prev, inc)
}

// putStat files the Stat of inc (a summary is enough).
func putStat(tx *bolt.Tx, inc *incidents.Incident) error {
	st := inc.Stat()
	return tx.Bucket(bktStats).Put(key(inc.Number), statrec.Encode(&st))
}

// putAlerts writes the alerts of inc whose encoding differs from prev's.
// Positions follow inc's order; the writes go in key order, which bbolt
// appends to its pages instead of shifting them (50,000 alerts in the
// order they came would shift them 50,000 times).
func putAlerts(tx *bolt.Tx, prev, inc *incidents.Incident) error {
	n := inc.Number
	old := map[string][]byte{}
	if prev != nil {
		for i := range prev.Alerts {
			b, err := json.Marshal(&prev.Alerts[i])
			if err != nil {
				return err
			}
			old[prev.Alerts[i].Fingerprint] = b
		}
	}
	type kv struct{ k, v []byte }
	var puts, orders, ranks []kv
	var dels [][]byte
	alerts, order, rank := tx.Bucket(bktIAlerts), tx.Bucket(bktIOrder), tx.Bucket(bktIRank)
	next := -1 // the next position, found when the first new alert comes
	for i := range inc.Alerts {
		a := &inc.Alerts[i]
		b, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if was, ok := old[a.Fingerprint]; ok && bytes.Equal(was, b) {
			continue
		}
		ak := subKey(n, []byte(a.Fingerprint))
		st := rankOf(a.Status)
		var pos int
		if v := alerts.Get(ak); len(v) >= alertHead {
			pos = int(binary.BigEndian.Uint32(v[:4]))
			if v[4] != st {
				dels = append(dels, subKey(n, []byte{v[4]}, v[:4]))
			}
		} else {
			if next < 0 {
				next = nextPosition(order, n)
			}
			pos, next = next, next+1
			orders = append(orders, kv{subKey(n, u32(pos)), []byte(a.Fingerprint)})
		}
		val := make([]byte, 0, alertHead+len(b))
		val = append(append(append(val, u32(pos)...), st), b...)
		puts = append(puts, kv{ak, val})
		ranks = append(ranks, kv{subKey(n, []byte{st}, u32(pos)), []byte(a.Fingerprint)})
	}
	for _, k := range dels {
		if err := rank.Delete(k); err != nil {
			return err
		}
	}
	byKey := func(a, b kv) int { return bytes.Compare(a.k, b.k) }
	for _, w := range []struct {
		b   *bolt.Bucket
		kvs []kv
	}{{alerts, puts}, {order, orders}, {rank, ranks}} {
		slices.SortFunc(w.kvs, byKey)
		for _, p := range w.kvs {
			if err := w.b.Put(p.k, p.v); err != nil {
				return err
			}
		}
	}
	return nil
}

// nextPosition is the position after the incident n's last alert.
func nextPosition(order *bolt.Bucket, n int64) int {
	c := order.Cursor()
	k, _ := c.Seek(key(n + 1))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, key(n)) || len(k) != 12 {
		return 0
	}
	return int(binary.BigEndian.Uint32(k[8:])) + 1
}

// putEvents appends the events of inc beyond prev's timeline.
func putEvents(tx *bolt.Tx, prev, inc *incidents.Incident) error {
	from, at := 0, 0
	if prev != nil {
		from, at = len(prev.Timeline), prev.Events
	}
	b := tx.Bucket(bktIEvents)
	for i := from; i < len(inc.Timeline); i++ {
		v, err := json.Marshal(&inc.Timeline[i])
		if err != nil {
			return err
		}
		if err := b.Put(subKey(inc.Number, u32(at+i-from)), v); err != nil {
			return err
		}
	}
	return nil
}
