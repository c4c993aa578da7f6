package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// groupCommit makes SQLite's single writer fast without giving up
// durability. With synchronous=FULL every COMMIT waits for an fsync, which
// caps one writer at as many commits a second as the disk syncs. Instead,
// write transactions that arrive while a commit is in progress are run
// together in the next SQLite transaction, each inside its own SAVEPOINT so
// that one failing (or panicking) caller rolls back only its own changes,
// and all of them share one COMMIT and one fsync. Every caller gets its
// result only after that COMMIT, so what InTx reports as done is on disk.
//
// Savepoints have a price: SQLite copies every page a member first changes
// into the savepoint's journal, work the single writer does for every
// member although few ever need the undo. So a batch
// first runs without them. A member that fails without having written
// anything (most client errors are found before any write) needs no undo.
// One that fails after writing makes the batch roll back; its error stands,
// and the others run again in a fresh transaction, this time each in its
// savepoint, as do the batches after it until one passes without such a
// failure. fn may therefore run more than once, as it may on PostgreSQL,
// where InTx retries serialization failures.
//
// The rows of tables that no write transaction reads (see appendRows) are
// gathered from the members that succeed and written for the whole batch
// just before its COMMIT, a few multi-row INSERTs instead of statements of
// their own for every member.
//
// The committing goroutine keeps one connection of the writer pool for
// itself, with its statements prepared (see batchConn), and runs BEGIN
// IMMEDIATE and COMMIT on it as plain statements: database/sql's own
// transactions start a goroutine for every query, work that the writer,
// the bottleneck of every write, need not do.
type groupCommit struct {
	jobs     chan *job
	quit     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
	conn     *batchConn // nil until the first batch, and after a broken one
	// careful runs each member in its savepoint: after a member failed
	// having written, until a batch passes without that.
	careful bool
	// appends gathers the appended rows of a batch's members that
	// succeeded, written just before its COMMIT (see appendRows).
	appends appendRows
}

type job struct {
	ctx   context.Context
	fn    func(*Tx) error
	err   error
	panic any
	done  chan struct{}
}

// failed reports whether the job's own failure (err or panic, or its
// context ending) is its outcome, whatever happens to the batch.
func (j *job) failed() bool { return j.err != nil || j.panic != nil }

// maxBatch bounds how many callers share one commit, so a burst cannot
// make the first caller wait for hundreds of others.
const maxBatch = 128

func newGroupCommit(db *DB) *groupCommit {
	g := &groupCommit{jobs: make(chan *job, maxBatch), quit: make(chan struct{})}
	g.wg.Add(1)
	go g.loop(db)
	return g
}

func (g *groupCommit) run(ctx context.Context, fn func(*Tx) error) error {
	j := &job{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case g.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.quit:
		return errClosed
	}
	<-j.done // once queued, wait for the outcome even if ctx ends: it may have committed
	if j.panic != nil {
		panic(j.panic)
	}
	return j.err
}

var errClosed = errors.New("store is closed")

// stop ends the committing goroutine; calling it again is harmless.
func (g *groupCommit) stop() {
	g.stopOnce.Do(func() { close(g.quit) })
	g.wg.Wait()
}

func (g *groupCommit) loop(db *DB) {
	defer g.wg.Done()
	batch := make([]*job, 0, maxBatch)
	for {
		select {
		case j := <-g.jobs:
			batch = append(batch[:0], j)
		case <-g.quit:
			g.drain()
			g.release()
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case j := <-g.jobs:
				batch = append(batch, j)
			default:
				break more
			}
		}
		g.commit(db, batch)
	}
}

// drain fails the jobs still queued at shutdown.
func (g *groupCommit) drain() {
	for {
		select {
		case j := <-g.jobs:
			j.err = errClosed
			close(j.done)
		default:
			return
		}
	}
}

// release gives the connection back to the pool, closing its statements.
func (g *groupCommit) release() {
	if g.conn != nil {
		g.conn.close()
		g.conn = nil
	}
}

// commit runs a batch and reports to every caller once its outcome is
// durable.
func (g *groupCommit) commit(db *DB, batch []*job) {
	ctx := context.Background()
	finish := func(err error) {
		if err != nil && g.conn != nil {
			// Whatever went wrong, leave nothing open: the next batch
			// starts on a fresh connection.
			g.conn.conn.ExecContext(ctx, "ROLLBACK")
			g.release()
		}
		for _, j := range batch {
			if !j.failed() {
				j.err = err
			}
			close(j.done)
		}
	}
	if g.conn == nil {
		conn, err := db.write.Conn(ctx)
		if err != nil {
			finish(fmt.Errorf("begin: %w", err))
			return
		}
		g.conn = &batchConn{conn: conn, stmts: newStmtCache(), cache: newWriterCache()}
	}
	run := batch
	for {
		again, err := g.runBatch(ctx, db, run)
		if err != nil || !again {
			finish(err)
			return
		}
		// A member failed after writing and everything was rolled back:
		// the others run again, each in its savepoint.
		g.careful = true
		run = slices.DeleteFunc(slices.Clone(run), (*job).failed)
	}
}

// runBatch runs the jobs not yet failed in one transaction and commits it.
// It returns again=true, having rolled back, when a job failed after
// writing outside a savepoint; err is for failures of the batch itself.
func (g *groupCommit) runBatch(ctx context.Context, db *DB, batch []*job) (again bool, err error) {
	q := g.conn
	careful := g.careful
	if _, err := q.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	if err := q.cache.begin(ctx, q); err != nil {
		return false, err
	}
	g.appends.reset()
	undone := false // a member's writes were rolled back to its savepoint
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.err = err
			continue
		}
		if careful {
			if _, err := q.ExecContext(ctx, "SAVEPOINT job"); err != nil {
				return false, fmt.Errorf("savepoint: %w", err)
			}
		}
		writes := q.writes
		var tx *Tx
		func() {
			defer func() { j.panic = recover() }()
			tx, j.err = db.runTx(q, q.cache, j.fn)
		}()
		failed := j.failed()
		wrote := q.writes != writes
		switch {
		case failed && wrote && !careful:
			q.cache.drop()
			if _, err := q.ExecContext(ctx, "ROLLBACK"); err != nil {
				return false, fmt.Errorf("rollback: %w", err)
			}
			return true, nil
		case failed && wrote:
			q.cache.drop()
			if _, err := q.ExecContext(ctx, "ROLLBACK TO job"); err != nil {
				return false, fmt.Errorf("rollback to savepoint: %w", err)
			}
			undone = true
		case !failed:
			g.appends.add(&tx.appends)
		}
		if careful {
			if _, err := q.ExecContext(ctx, "RELEASE job"); err != nil {
				return false, fmt.Errorf("release savepoint: %w", err)
			}
		}
	}
	if err := g.appends.write(ctx, db.Engine, q); err != nil {
		return false, err
	}
	if _, err := q.ExecContext(ctx, "COMMIT"); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	g.careful = undone
	if db.checkpoints != nil {
		db.checkpoints.commits.Add(1)
	}
	return false, nil
}

// batchConn is the committing goroutine's connection. It runs a batch
// member's statements without the caller's cancellation: SQLite answers
// an interrupted write by rolling back the whole transaction, which would
// fail every other caller in the batch. A caller that goes away is skipped
// if its turn has not come yet.
//
// Its statements stay prepared, one per query text: SQLite compiles SQL
// slowly next to running it (compiling was a large share of the time of a
// transaction that fires rewards, docs/benchmarks.md), and the single
// writer is what limits write throughput. The store's queries are a fixed set of texts, but the
// cache is bounded all the same (see stmtCache).
type batchConn struct {
	conn  *sql.Conn
	stmts *stmtCache
	cache *writerCache
	// writes counts the statements run that may have written (all but
	// SELECTs), so that a failed member that wrote nothing needs no undo.
	writes int
}

// mayWrite reports whether q may change the database: anything but a
// SELECT (an INSERT … RETURNING is read through QueryRow, for one).
func mayWrite(q string) bool {
	q = strings.TrimLeft(q, " \t\r\n")
	return len(q) < 6 || !strings.EqualFold(q[:6], "SELECT")
}

func (b *batchConn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	b.writes++
	ctx = context.WithoutCancel(ctx)
	if st := b.stmts.get(ctx, b.conn, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return b.conn.ExecContext(ctx, q, args...)
}

func (b *batchConn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if mayWrite(q) {
		b.writes++
	}
	ctx = context.WithoutCancel(ctx)
	if st := b.stmts.get(ctx, b.conn, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return b.conn.QueryContext(ctx, q, args...)
}

func (b *batchConn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if mayWrite(q) {
		b.writes++
	}
	ctx = context.WithoutCancel(ctx)
	if st := b.stmts.get(ctx, b.conn, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return b.conn.QueryRowContext(ctx, q, args...)
}

func (b *batchConn) close() {
	b.stmts.close()
	b.conn.Close()
}
