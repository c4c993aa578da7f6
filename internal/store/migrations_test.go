package store_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

func TestMigrationVersionsMatch(t *testing.T) {
	t.Parallel()
	lite, err := store.MigrationVersions(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := store.MigrationVersions(store.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) == 0 {
		t.Fatal("no migrations embedded")
	}
	if !slices.Equal(lite, pg) {
		t.Errorf("sqlite versions %v, postgres versions %v: every migration needs both engines", lite, pg)
	}
	if !slices.IsSorted(lite) || len(slices.Compact(slices.Clone(lite))) != len(lite) {
		t.Errorf("versions %v are not strictly increasing", lite)
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newProgram(t, db)
		for range 2 {
			if err := db.Migrate(t.Context()); err != nil {
				t.Fatalf("migrate again: %v", err)
			}
		}
		if _, err := db.Program(t.Context(), p.ID); err != nil {
			t.Errorf("data lost by a second migrate: %v", err)
		}
	})
}

// TestSchemasMatch checks that both engines' migrations make the same
// tables, columns and named indexes: one SQL code path needs one schema.
func TestSchemasMatch(t *testing.T) {
	t.Parallel()
	engines := storetest.Engines(t)
	if len(engines) < 2 {
		t.Logf("needs both engines; running on %v checks only that the query works", engines)
	}
	var first map[string][]string
	var firstIndexes []string
	for _, e := range engines {
		db := storetest.Open(t, e)
		cols, indexes := schema(t, db)
		if len(cols) == 0 {
			t.Fatalf("%s: no tables", e)
		}
		if first == nil {
			first, firstIndexes = cols, indexes
			continue
		}
		for _, table := range slices.Sorted(maps.Keys(first)) {
			if !slices.Equal(first[table], cols[table]) {
				t.Errorf("table %s: %s columns %v, %s columns %v", table, engines[0], first[table], e, cols[table])
			}
		}
		for table := range cols {
			if _, ok := first[table]; !ok {
				t.Errorf("table %s exists only on %s", table, e)
			}
		}
		// PostgreSQL also names the indexes behind primary keys and UNIQUE
		// columns, so only the explicitly created ones must match.
		for _, name := range firstIndexes {
			if !slices.Contains(indexes, name) {
				t.Errorf("index %s is missing on %s", name, e)
			}
		}
	}
}

func schema(t *testing.T, db *store.DB) (map[string][]string, []string) {
	t.Helper()
	colQuery := `SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'goose_db_version'`
	idxQuery := `SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'`
	if db.Engine == store.Postgres {
		colQuery = `SELECT table_name, column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name <> 'goose_db_version'`
		idxQuery = `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()`
	}
	cols := map[string][]string{}
	rows, err := db.WriteStats().QueryContext(t.Context(), colQuery)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		cols[table] = append(cols[table], col)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for _, c := range cols {
		slices.Sort(c)
	}
	var indexes []string
	rows, err = db.WriteStats().QueryContext(t.Context(), idxQuery)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return cols, indexes
}
