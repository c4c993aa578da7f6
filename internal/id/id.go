// Package id makes the public identifiers of Advocate's objects.
//
// An id is a short type prefix and 26 characters of lower-case Crockford
// base32: 48 bits of milliseconds followed by 80 random bits (the ULID
// layout). Ids therefore sort by creation time, which lets list endpoints
// paginate on the id alone.
package id

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

var (
	mu     sync.Mutex
	shared Seq
)

// New returns a fresh id such as "cus_01jd8x…" made at time now. Ids this
// process makes one after another within one millisecond increase too.
func New(prefix string, now time.Time) string {
	mu.Lock()
	defer mu.Unlock()
	return shared.New(prefix, now)
}

// Seq makes ids that increase even within one millisecond: after the first,
// each is the one before plus one (ULID's monotonic mode). A transaction
// uses its own Seq so that the rows it writes at its single time, such as
// its events, keep their order however other transactions interleave. A Seq
// is not safe for concurrent use.
type Seq struct {
	last [16]byte
}

// New returns the next id made at time now.
func (s *Seq) New(prefix string, now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	if [6]byte(b[:6]) == [6]byte(s.last[:6]) && increment(s.last[6:]) {
		copy(b[6:], s.last[6:])
	} else {
		rand.Read(b[6:])
	}
	s.last = b
	return format(prefix, b)
}

// increment adds one to the big-endian number in b and reports whether it
// did not overflow.
func increment(b []byte) bool {
	for i := len(b) - 1; i >= 0; i-- {
		b[i]++
		if b[i] != 0 {
			return true
		}
	}
	return false
}

// format writes prefix, "_" and b's 128 bits as 26 base32 characters,
// most significant first, in one allocation (ids are made on hot paths:
// one per click).
func format(prefix string, b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	var sb strings.Builder
	sb.Grow(len(prefix) + 1 + len(out))
	sb.WriteString(prefix)
	sb.WriteByte('_')
	sb.Write(out[:])
	return sb.String()
}

// Floor returns the smallest id with prefix made at or after the start of
// t's millisecond: every id made from then on sorts at or above it, so a
// query for rows created since t can range over an index on the id.
func Floor(prefix string, t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	return format(prefix, b)
}
