package store

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// checkpointer copies SQLite's write-ahead log back into the database file
// off the writer's path. By default SQLite checkpoints inside the COMMIT
// that takes the log past 1,000 pages, so the single writer, which every
// write waits for, also did the copying and its fsync. Here this goroutine runs a PASSIVE checkpoint, which never
// blocks the writer, on the second writer connection whenever something
// was committed since the last one, and the writer's automatic checkpoint
// (at walAutoCheckpoint pages) only copies what the last one left.
type checkpointer struct {
	commits atomic.Int64 // commits so far, counted by the group commit
	quit    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

// walAutoCheckpoint is the writer's own checkpoint threshold in pages
// (40,000 pages of 4 KiB and their frame headers). Under steady writes the checkpointer never finds
// the whole log copied, so the log restarts from its beginning only when
// the writer reaches this threshold and copies what is left; it is high so
// that this happens rarely. The log keeps its largest size on disk while
// the database is open.
const walAutoCheckpoint = 40000

// checkpointInterval is how often the checkpointer looks for work. Each
// run copies every page changed since the one before once, however often
// it changed, so a longer interval copies a page that changes often fewer
// times; once a second did markedly fewer reads and writes per payment
// than five times a second, with customer indexes larger than any cache
// (docs/benchmarks.md).
const checkpointInterval = time.Second

func newCheckpointer(db *DB) *checkpointer {
	c := &checkpointer{quit: make(chan struct{})}
	c.wg.Add(1)
	go c.loop(db)
	return c
}

func (c *checkpointer) loop(db *DB) {
	defer c.wg.Done()
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	var done int64
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
		}
		n := c.commits.Load()
		if n == done {
			continue
		}
		if err := checkpoint(db); err != nil {
			slog.Warn("sqlite checkpoint failed; the writer's own checkpoint remains", "err", err)
			continue
		}
		done = n
	}
}

// stop ends the goroutine; calling it again is harmless.
func (c *checkpointer) stop() {
	c.once.Do(func() { close(c.quit) })
	c.wg.Wait()
}

// checkpoint copies what the write-ahead log holds into the database file
// without blocking writers (a PASSIVE checkpoint).
func checkpoint(db *DB) error {
	var busy, log, copied int
	return db.write.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &copied)
}
