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

// The file's layout versions: 2 is summaries plus one record per alert
// and event, and the team and creation-time indexes; 3 adds the stats
// bucket. A file without a version holds, in the incidents bucket,
// documents with every alert and event (version 1).
var (
	schemaKey     = []byte("schema")
	schemaRecords = []byte("2")
	schemaVersion = []byte("3")
)

// migrateBytes bounds how many bytes of old documents one migration
// transaction rewrites (and holds in memory); a single bigger document
// goes alone. migrateStats bounds how many Stats one transaction files.
var (
	migrateBytes = 16 << 20
	migrateStats = 10000
)

// Migrate brings a file that an older klaxon wrote to the current layout,
// and returns how many incidents it rewrote or filed: each whole-incident
// document becomes a summary, one record per alert and per event, and
// entries in the team and creation-time indexes; each incident without a
// Stat gets one, made from its summary. It works in transactions of
// bounded size (16 MiB of documents, 10,000 Stats), so memory stays
// bounded, and logs its progress. A crash midway loses nothing: each
// incident is done in one transaction, and the next Migrate (OpenWith
// calls it) skips the ones already done. Once every incident is done it
// marks the file, and later calls return at once.
func (s *Store) Migrate() (int, error) {
	var schema []byte
	if err := s.db.View(func(tx *bolt.Tx) error {
		schema = bytes.Clone(tx.Bucket(bktMeta).Get(schemaKey))
		return nil
	}); err != nil {
		return 0, s.wrap("boltstore.Migrate", err)
	}
	if bytes.Equal(schema, schemaVersion) {
		return 0, nil
	}
	migrated := 0
	if !bytes.Equal(schema, schemaRecords) {
		n, err := s.migrateDocuments()
		if err != nil {
			return n, err
		}
		migrated += n
	}
	n, err := s.fileStats()
	return migrated + n, err
}

// migrateDocuments rewrites whole-incident documents (version 1) as
// records (version 2), and marks the file when done.
func (s *Store) migrateDocuments() (int, error) {
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
				return tx.Bucket(bktMeta).Put(schemaKey, schemaRecords)
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

// fileStats files the Stat of every incident that has none (stored before
// the stats bucket existed), made from its summary, and marks the file
// when done. It is no change of the incident: no new version, nothing for
// the outbox.
func (s *Store) fileStats() (int, error) {
	began, logged := time.Now(), time.Now()
	filed := 0
	var after []byte
	for {
		var finished bool
		err := s.db.Update(func(tx *bolt.Tx) error {
			stats := tx.Bucket(bktStats)
			var todo []int64
			c := tx.Bucket(bktIncidents).Cursor()
			var k []byte
			if after == nil {
				k, _ = c.First()
			} else if k, _ = c.Seek(after); bytes.Equal(k, after) {
				k, _ = c.Next()
			}
			for ; k != nil && len(todo) < migrateStats; k, _ = c.Next() {
				if len(k) != 8 {
					continue
				}
				after = append(after[:0], k...)
				if stats.Get(k) == nil {
					todo = append(todo, int64(binary.BigEndian.Uint64(k)))
				}
			}
			finished = k == nil
			for _, n := range todo {
				inc, err := loadCore(tx, n)
				if err != nil {
					return err
				}
				if err := putStat(tx, inc); err != nil {
					return fmt.Errorf("file the stat of incident %d: %w", n, err)
				}
			}
			filed += len(todo)
			if finished {
				return tx.Bucket(bktMeta).Put(schemaKey, schemaVersion)
			}
			return nil
		})
		if err != nil {
			return filed, s.wrap("boltstore.Migrate", err)
		}
		if finished {
			break
		}
		if time.Since(logged) > 5*time.Second {
			s.log.Info("embedded store: filing the stats of incidents stored before them", "done", filed, "took", time.Since(began).Round(time.Second))
			logged = time.Now()
		}
	}
	if filed > 0 {
		s.log.Info("embedded store: stats filed for incidents stored before them", "incidents", filed, "took", time.Since(began).Round(time.Millisecond))
	}
	return filed, nil
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

// migrateOne rewrites a whole-incident document as records, files its
// Stat, and files it in the team and creation-time indexes (the state
// index has it already; filing it again changes nothing). It is no change
// of the incident: no new version, nothing for the outbox.
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
	if err := putStat(tx, inc); err != nil {
		return err
	}
	return index(tx, nil, inc)
}
