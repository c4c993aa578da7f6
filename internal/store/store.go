// Package store keeps Advocate's data in SQLite (the embedded default) or
// PostgreSQL through one hand-written SQL code path. Queries use $N
// placeholders, which both drivers bind by number; the few places where the
// engines differ go through the Dialect seam.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	_ "modernc.org/sqlite" // registers "sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/advocate-oss/advocate/internal/id"
	"github.com/advocate-oss/advocate/internal/secrets"
	"github.com/advocate-oss/advocate/internal/walvfs"
)

//go:embed migrations
var migrations embed.FS

// Engine names a storage engine.
type Engine string

// The two engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// DB is an open store. On SQLite, writes go through a single connection
// that starts transactions with BEGIN IMMEDIATE (so writers queue instead of
// failing on upgrade; see groupCommit), and reads use a pool; on PostgreSQL
// both are one pool.
type DB struct {
	Engine Engine
	write  *sql.DB
	read   *readPool
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Emails makes DispatchEvents queue email notifications too; serve
	// turns it on when SMTP is configured. Set it before use.
	Emails bool
	// Secrets seals the credentials of integrations (Stripe's webhook
	// secret and API key); serve sets it from --encryption-key or a key
	// file. Nil: no key, and connecting an integration is refused.
	Secrets *secrets.Box
	// writes counts committed write transactions (WriteTransactions).
	writes atomic.Int64
	// batch group-commits SQLite write transactions; nil on PostgreSQL.
	batch *groupCommit
	// checkpoints copies SQLite's log into the database file off the
	// writer's path; nil on PostgreSQL.
	checkpoints *checkpointer
}

// Option changes how Open opens a database.
type Option func(*options)

type options struct {
	walVFS bool
}

// SQLiteWALVFS chooses whether the SQLite writer writes its log through
// internal/walvfs, which gathers each commit's frames into a few system
// calls (the default), or through SQLite's own unix VFS. It changes when
// the bytes reach the log within a commit, never what is durable when the
// commit returns. PostgreSQL ignores it.
func SQLiteWALVFS(on bool) Option { return func(o *options) { o.walVFS = on } }

// Open connects to dsn: a postgres:// (or postgresql://) URL, or a SQLite
// file path whose directory is created if missing.
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	o := options{walVFS: true}
	for _, opt := range opts {
		opt(&o)
	}
	db := &DB{Now: time.Now}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db.Engine = Postgres
		pool, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		pool.SetMaxOpenConns(20)
		pool.SetMaxIdleConns(20)
		pool.SetConnMaxIdleTime(5 * time.Minute)
		db.write, db.read = pool, &readPool{DB: pool}
	} else {
		db.Engine = SQLite
		path := strings.TrimPrefix(dsn, "file:")
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("create data directory: %w", err)
			}
		}
		// busy_timeout comes first so that it already applies to the pragmas
		// after it. temp_store(MEMORY) keeps the savepoint journal of group
		// commit (see groupCommit) in memory: on disk, every page a batch
		// member changes was first copied to a temporary file with a write
		// system call, a large share of a write transaction's time. Durability
		// rests on the WAL alone, which synchronous(FULL) syncs, with
		// fdatasync as native SQLite does on Linux: fsync also journals the
		// log's modification time at every commit.
		sqlite.Fdatasync(true)
		pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)"
		// The writer keeps SQLite's default page cache. A larger one spares
		// it reads of index pages, but SQLite walks the whole cache at the
		// end of most write transactions, and the two came out even: no
		// larger size made payments faster (docs/benchmarks.md).
		writer := "file:" + path + "?_txlock=immediate&" + pragmas +
			fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", walAutoCheckpoint)
		if o.walVFS {
			// The writer appends each commit's log frames in a few system
			// calls (see walvfs); the readers never write the log.
			if err := walvfs.Register(); err != nil {
				return nil, err
			}
			writer += "&vfs=" + walvfs.Name
		}
		w, err := sql.Open("sqlite", writer)
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		// The group commit keeps one connection for every write; the second
		// serves Ping and migrations, which would otherwise wait for it.
		w.SetMaxOpenConns(2)
		w.SetMaxIdleConns(2)
		w.SetConnMaxLifetime(0)
		r, err := sql.Open("sqlite", "file:"+path+"?mode=ro&"+pragmas+"&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		n := max(4, runtime.NumCPU()*2)
		r.SetMaxOpenConns(n)
		r.SetMaxIdleConns(n)
		db.write, db.read = w, &readPool{DB: r, stmts: newStmtCache()}
		db.checkpoints = newCheckpointer(db)
		db.batch = newGroupCommit(db)
	}
	if err := db.write.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", db.Engine, err)
	}
	return db, nil
}

// StopCheckpoints ends SQLite's background checkpointer before Close; the
// writer's own checkpoint, at walAutoCheckpoint pages, remains. A
// checkpoint syncs the log, so a test that counts the log's syncs to see
// that each commit made its own stops it first. It does nothing on
// PostgreSQL.
func (db *DB) StopCheckpoints() {
	if db.checkpoints != nil {
		db.checkpoints.stop()
	}
}

// Close closes every connection.
func (db *DB) Close() error {
	if db.batch != nil {
		db.batch.stop()
	}
	if db.checkpoints != nil {
		db.checkpoints.stop()
	}
	err := db.write.Close()
	if db.read.DB != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// stmtCache keeps statements prepared, one per query text: SQLite
// compiles SQL slowly next to running it, and the store's queries are a
// fixed set of texts. It is bounded all the same: past maxStmts, and for a
// query that does not compile, get returns nil and the caller runs the
// query unprepared (which reports why it does not compile). A nil cache
// prepares nothing. It is safe for concurrent use.
type stmtCache struct {
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

// maxStmts bounds how many statements a cache keeps prepared.
const maxStmts = 256

// preparer is what *sql.DB and *sql.Conn offer to prepare statements.
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

func newStmtCache() *stmtCache {
	return &stmtCache{stmts: map[string]*sql.Stmt{}}
}

// get returns q's statement, preparing it with p on first use, or nil
// when q is not to be cached.
func (c *stmtCache) get(ctx context.Context, p preparer, q string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	st, ok := c.stmts[q]
	full := len(c.stmts) >= maxStmts
	c.mu.RUnlock()
	if ok || full {
		return st
	}
	st, err := p.PrepareContext(ctx, q)
	if err != nil {
		return nil // running it unprepared reports why
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.stmts[q]; ok { // another caller was first
		st.Close()
		return prev
	}
	if len(c.stmts) >= maxStmts {
		st.Close()
		return nil
	}
	c.stmts[q] = st
	return st
}

// close closes the statements and empties the cache.
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
}

// readPool is the read pool. On SQLite its queries run as statements
// prepared once per query text (see stmtCache), as the queries on every
// request, such as the API key lookup, are a fixed set of texts. stmts is
// nil on PostgreSQL, whose driver keeps its own statement cache.
type readPool struct {
	*sql.DB
	stmts *stmtCache
}

func (p *readPool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := p.stmts.get(ctx, p.DB, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, q, args...)
}

func (p *readPool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := p.stmts.get(ctx, p.DB, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, q, args...)
}

// Close closes the prepared statements and the pool.
func (p *readPool) Close() error {
	p.stmts.close()
	return p.DB.Close()
}

// Ping checks that the database answers; /readyz uses it.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return err
	}
	return db.read.PingContext(ctx)
}

// Migrate applies the embedded migrations of this engine.
func (db *DB) Migrate(ctx context.Context) error {
	p, err := db.migrator()
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// MigrationVersions lists the migration versions embedded for an engine.
func MigrationVersions(e Engine) ([]int64, error) {
	sub, err := fs.Sub(migrations, "migrations/"+string(e))
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(sub, ".")
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, e := range entries {
		v, err := goose.NumericComponent(e.Name())
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		out = append(out, v)
	}
	return out, nil
}

func (db *DB) migrator() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+string(db.Engine))
	if err != nil {
		return nil, err
	}
	if db.Engine == Postgres {
		// Several nodes may start at once: an advisory lock makes them
		// migrate one after another.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		return goose.NewProvider(database.DialectPostgres, db.write, sub, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(database.DialectSQLite3, db.write, sub)
}

// Tx is a write transaction. Store methods that change data take one so
// that callers can compose several changes atomically.
type Tx struct {
	tx  querier
	db  *DB
	now time.Time
	ids id.Seq // ids in write order, for rows whose order matters (events)
	// appends holds the rows of append-only tables added so far, written
	// when the transaction ends (see appendRows).
	appends appendRows
	// writer is the single SQLite writer's cache (see writerCache); nil
	// on PostgreSQL.
	writer *writerCache
}

// Now is the time of the transaction: one value for every row it writes.
func (tx *Tx) Now() time.Time { return tx.now }

// rulesChanged is called by every change of reward rules: the writer's
// cache of them is dropped at once, so that the rest of the transaction
// and of its batch fires the rules as they now are.
func (tx *Tx) rulesChanged() {
	if tx.writer != nil {
		tx.writer.dropRules()
	}
}

// runTx runs fn in a new Tx over q. Every transaction path (inTx,
// groupCommit's runBatch) goes through it; beginning, committing, rolling
// back, recovering panics and writing the appended rows are the caller's.
func (db *DB) runTx(q querier, w *writerCache, fn func(*Tx) error) (*Tx, error) {
	tx := &Tx{tx: q, db: db, now: db.Now().UTC().Truncate(time.Microsecond), writer: w}
	return tx, fn(tx)
}

// InTx runs fn in a write transaction, committing if fn returns nil and
// rolling back everything fn did if it returns an error or panics (the
// panic is re-raised in the caller). On PostgreSQL a serialization failure
// or deadlock is retried a few times. On SQLite, concurrent calls are group
// committed (see groupCommit); InTx still returns only once fn's changes
// are durable.
func (db *DB) InTx(ctx context.Context, fn func(*Tx) error) (err error) {
	defer func() {
		if err == nil {
			db.writes.Add(1)
		}
	}()
	if db.batch != nil {
		return db.batch.run(ctx, fn)
	}
	for attempt := 0; ; attempt++ {
		err := db.inTx(ctx, fn)
		if err != nil && attempt < 3 && retryable(err) {
			continue
		}
		return err
	}
}

// WriteTransactions counts the write transactions committed so far (on
// SQLite, each caller of a group commit counts once): what a request
// costs the single writer, which tests hold down.
func (db *DB) WriteTransactions() int64 { return db.writes.Load() }

func (db *DB) inTx(ctx context.Context, fn func(*Tx) error) (err error) {
	sqltx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			sqltx.Rollback()
			panic(p)
		}
		if err != nil {
			sqltx.Rollback()
		}
	}()
	tx, err := db.runTx(sqltx, nil, fn)
	if err != nil {
		return err
	}
	if err = tx.appends.write(ctx, db.Engine, sqltx); err != nil {
		return err
	}
	if err = sqltx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func retryable(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40001" || pg.Code == "40P01")
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// forUpdate locks the selected rows of the named tables on PostgreSQL.
// SQLite needs no lock: its single writer already serialises every write
// transaction.
func (db *DB) forUpdate(tables ...string) string {
	if db.Engine != Postgres {
		return ""
	}
	if len(tables) == 0 {
		return " FOR UPDATE"
	}
	return " FOR UPDATE OF " + strings.Join(tables, ", ")
}

// uniqueViolation reports whether err is a unique-constraint failure and
// names what was violated: the constraint on PostgreSQL, the column list on
// SQLite. Callers match on a column name, which both contain.
func uniqueViolation(err error) (string, bool) {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		return pg.ConstraintName, true
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) && (lite.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || lite.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return lite.Error(), true
	}
	return "", false
}

// insertRowsSQL is an INSERT of rows rows into table's columns, a
// comma-separated list of names. The texts are few and built once: they
// key the prepared statements. On SQLite the parameters are anonymous
// (?), bound in order: the driver asks SQLite for every parameter's name,
// which for $N means a walk of the statement's list of names, so binding a
// multi-row INSERT of $N was quadratic in its parameters.
func insertRowsSQL(e Engine, table, columns string, rows int) string {
	key := insertKey{e, table, columns, rows}
	if q, ok := insertSQL.Load(key); ok {
		return q.(string)
	}
	cols := columnCount(columns)
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + columns + ") VALUES ")
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			if e == SQLite {
				b.WriteByte('?')
			} else {
				fmt.Fprintf(&b, "$%d", r*cols+c+1)
			}
		}
		b.WriteByte(')')
	}
	insertSQL.Store(key, b.String())
	return b.String()
}

type insertKey struct {
	engine         Engine
	table, columns string
	rows           int
}

// columnCount is the number of names in a comma-separated column list.
func columnCount(columns string) int { return strings.Count(columns, ",") + 1 }

var insertSQL sync.Map // insertKey → string

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(n int64) time.Time { return time.UnixMicro(n).UTC() }

func nullMicros(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMicros(n.Int64)
	return &t
}

// Redacted returns dsn with any password masked, for logs.
func Redacted(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// WriteStats exposes the writer pool for metrics.
func (db *DB) WriteStats() *sql.DB { return db.write }

// ReadStats exposes the reader pool for metrics; on PostgreSQL it is the
// writer pool too, so metrics register it once.
func (db *DB) ReadStats() *sql.DB { return db.read.DB }
