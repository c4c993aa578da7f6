package httpapi

// HoldIdempotencyKey makes the server act as if a request with key and the
// request hash were running on it, until release is called.
func (s *Server) HoldIdempotencyKey(programID, key, hash string) (release func()) {
	slot := programID + "\x00" + key
	s.inFlight.Store(slot, hash)
	return func() { s.inFlight.Delete(slot) }
}
