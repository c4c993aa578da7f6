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
	"time"
)

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// New returns a fresh id such as "cus_01jd8x…" made at time now.
func New(prefix string, now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:])
	return prefix + "_" + encode(b)
}

func encode(b [16]byte) string {
	// 128 bits → 26 base32 characters, most significant first.
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
