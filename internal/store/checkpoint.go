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
// write waits for, also did the copying and its fsync: a sixth of its time
// under load. Here the writer's automatic checkpoint only fires as a safety
// net (walAutoCheckpoint pages), and this goroutine runs a PASSIVE
// checkpoint, which never blocks the writer, on the second writer
// connection whenever something was committed since the last one.
type checkpointer struct {
	commits atomic.Int64 // commits so far, counted by the group commit
	quit    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

// walAutoCheckpoint is the writer's own checkpoint threshold in pages
// (about 40 MB of log), reached only if the checkpointer falls behind.
const walAutoCheckpoint = 10000

// checkpointInterval is how often the checkpointer looks for work: the log
// stays small (a fraction of a second of writes) and pages rewritten within
// the interval are copied once.
const checkpointInterval = 200 * time.Millisecond

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
