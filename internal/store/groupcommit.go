package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// groupCommit makes SQLite's single writer fast without giving up
// durability. With synchronous=FULL every COMMIT waits for an fsync, which
// caps one writer at a few hundred to a thousand commits a second. Instead,
// write transactions that arrive while a commit is in progress are run
// together in the next SQLite transaction, each inside its own SAVEPOINT so
// that one failing (or panicking) caller rolls back only its own changes,
// and all of them share one COMMIT and one fsync. Every caller gets its
// result only after that COMMIT, so what InTx reports as done is on disk.
type groupCommit struct {
	jobs     chan *job
	quit     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
}

type job struct {
	ctx   context.Context
	fn    func(*Tx) error
	err   error
	panic any
	done  chan struct{}
}

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

// commit runs a batch in one transaction and reports to every caller.
func (g *groupCommit) commit(db *DB, batch []*job) {
	finish := func(err error) {
		for _, j := range batch {
			if j.err == nil && j.panic == nil {
				j.err = err
			}
			close(j.done)
		}
	}
	ctx := context.Background()
	sqltx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		finish(fmt.Errorf("begin: %w", err))
		return
	}
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.err = err
			continue
		}
		if _, err := sqltx.ExecContext(ctx, "SAVEPOINT job"); err != nil {
			sqltx.Rollback()
			finish(fmt.Errorf("savepoint: %w", err))
			return
		}
		tx := &Tx{tx: uncancelable{sqltx}, db: db, now: db.Now().UTC().Truncate(time.Microsecond)}
		func() {
			defer func() { j.panic = recover() }()
			j.err = j.fn(tx)
		}()
		if j.err != nil || j.panic != nil {
			if _, err := sqltx.ExecContext(ctx, "ROLLBACK TO job"); err != nil {
				sqltx.Rollback()
				finish(fmt.Errorf("rollback to savepoint: %w", err))
				return
			}
		}
		if _, err := sqltx.ExecContext(ctx, "RELEASE job"); err != nil {
			sqltx.Rollback()
			finish(fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if err := sqltx.Commit(); err != nil {
		finish(fmt.Errorf("commit: %w", err))
		return
	}
	finish(nil)
}

// uncancelable runs a batch member's statements without its caller's
// cancellation: SQLite answers an interrupted write by rolling back the
// whole transaction, which would fail every other caller in the batch. A
// caller that goes away is skipped if its turn has not come yet.
type uncancelable struct{ tx *sql.Tx }

func (u uncancelable) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return u.tx.ExecContext(context.WithoutCancel(ctx), q, args...)
}

func (u uncancelable) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return u.tx.QueryContext(context.WithoutCancel(ctx), q, args...)
}

func (u uncancelable) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return u.tx.QueryRowContext(context.WithoutCancel(ctx), q, args...)
}
