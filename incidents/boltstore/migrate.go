package boltstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonbot/klaxon/incidents"
)

// schemaVersion is the layout this package writes: 2 is summaries plus
// one record per alert and event, and the team and creation-time indexes.
// A file without it holds, in the incidents bucket, documents with every
// alert and event (version 1).
var schemaKey, schemaVersion = []byte("schema"), []byte("2")

// migrateBytes bounds how many bytes of old documents one migration
// transaction rewrites (and holds in memory); a single bigger document
// goes alone.
var migrateBytes = 16 << 20

// Migrate rewrites a file that an older klaxon wrote in the current
// layout, and returns how many incidents it rewrote: each whole-incident
// document becomes a summary, one record per alert and per event, and
// entries in the team and creation-time indexes. It works in
// transactions of up to 16 MiB of documents, so memory stays bounded, and
// logs its progress. A crash midway loses nothing: each incident is
// rewritten in one transaction, and the next Migrate (OpenWith calls it)
// skips the ones already done. Once every incident is done it marks the
// file, and later calls return at once.
func (s *Store) Migrate() (int, error) {
	done := false
	if err := s.db.View(func(tx *bolt.Tx) error {
		done = bytes.Equal(tx.Bucket(bktMeta).Get(schemaKey), schemaVersion)
		return nil
	}); err != nil {
		return 0, s.wrap("boltstore.Migrate", err)
	}
	if done {
		return 0, nil
	}
	began, logged := time.Now(), time.Now()
	migrated := 0
	var after []byte
	for {
		var finished bool
		err := s.db.Update(func(tx *bolt.Tx) error {
			// Collect first: a cursor must not walk a bucket being written.
			type doc struct {
				n int64
				v []byte
			}
			var docs []doc
			size := 0
			c := tx.Bucket(bktIncidents).Cursor()
			var k, v []byte
			if after == nil {
				k, v = c.First()
			} else if k, v = c.Seek(after); bytes.Equal(k, after) {
				k, v = c.Next()
			}
			for ; k != nil && (size == 0 || size+len(v) <= migrateBytes); k, v = c.Next() {
				if len(k) != 8 {
					continue
				}
				after = append(after[:0], k...)
				if !legacy(v) {
					continue
				}
				docs = append(docs, doc{int64(binary.BigEndian.Uint64(k)), bytes.Clone(v)})
				size += len(v)
			}
			finished = k == nil
			for _, d := range docs {
				var inc incidents.Incident
				if err := json.Unmarshal(d.v, &inc); err != nil {
					return fmt.Errorf("decode incident %d: %w", d.n, err)
				}
				if err := migrateOne(tx, &inc); err != nil {
					return fmt.Errorf("migrate incident %d: %w", d.n, err)
				}
			}
			migrated += len(docs)
			if finished {
				return tx.Bucket(bktMeta).Put(schemaKey, schemaVersion)
			}
			return nil
		})
		if err != nil {
			return migrated, s.wrap("boltstore.Migrate", err)
		}
		if finished {
			break
		}
		if time.Since(logged) > 5*time.Second {
			s.log.Info("embedded store: migrating incidents to the summary layout", "done", migrated, "took", time.Since(began).Round(time.Second))
			logged = time.Now()
		}
	}
	if migrated > 0 {
		s.log.Info("embedded store: incidents migrated to the summary layout", "incidents", migrated, "took", time.Since(began).Round(time.Millisecond))
	}
	return migrated, nil
}

// legacy reports whether v is a whole-incident document (version 1): it
// has a timeline, where a summary's is null.
func legacy(v []byte) bool {
	var probe struct {
		Timeline json.RawMessage `json:"timeline"`
	}
	if json.Unmarshal(v, &probe) != nil {
		return true // decoding it again reports the error
	}
	return len(probe.Timeline) > 0 && string(probe.Timeline) != "null"
}

// migrateOne rewrites a whole-incident document as records and files it
// in the team and creation-time indexes (the state index has it already;
// filing it again changes nothing). It is no change of the incident: no
// new version, nothing for the outbox.
func migrateOne(tx *bolt.Tx, inc *incidents.Incident) error {
	inc.Events = len(inc.Timeline)
	if err := putAlerts(tx, nil, inc); err != nil {
		return err
	}
	if err := putEvents(tx, nil, inc); err != nil {
		return err
	}
	sum := *inc
	sum.Alerts, sum.Timeline = nil, nil
	data, err := json.Marshal(&sum)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bktIncidents).Put(key(inc.Number), data); err != nil {
		return err
	}
	return index(tx, nil, inc)
}
