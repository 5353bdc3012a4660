// Package boundedmap stores into the verifiers' caches: maps that a
// verifier consults under its own mutex and that never grow past a bound.
package boundedmap

import "sync"

// Store sets m[k] = v under mu. A map that already holds limit entries is
// emptied first: every entry can be computed again, so forgetting them all
// costs time, never a result, and needs no bookkeeping on the hot path.
func Store[K comparable, V any](mu *sync.Mutex, m map[K]V, limit int, k K, v V) {
	mu.Lock()
	if len(m) >= limit {
		clear(m)
	}
	m[k] = v
	mu.Unlock()
}
