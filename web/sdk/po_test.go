package sdk

import (
	"bytes"
	"compress/gzip"
	"testing"
)

// maxGzipped is the size budget of po.js as browsers download it.
const maxGzipped = 10 << 10

// TestSize keeps po.js within its budget, gzipped as the server sends it.
func TestSize(t *testing.T) {
	src, err := FS.ReadFile("po.js")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(src)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("po.js: %d bytes, %d gzipped (budget %d)", len(src), buf.Len(), maxGzipped)
	if buf.Len() > maxGzipped {
		t.Errorf("po.js is %d bytes gzipped, over the %d-byte budget", buf.Len(), maxGzipped)
	}
}
