package dashboard

// SetExportBatch sets how many rows a CSV export reads per query and
// returns a func that restores it, so that tests cover many batches with
// few rows. Tests that call it must not run in parallel.
func SetExportBatch(n int) (restore func()) {
	old := exportBatch
	exportBatch = n
	return func() { exportBatch = old }
}
