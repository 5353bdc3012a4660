package device

import "github.com/google/go-tpm/tpm2/transport"

// NVReadChunked is NVRead with a forced chunk size, to test reassembly.
func NVReadChunked(t transport.TPM, index uint32, chunk int) ([]byte, error) {
	pub, err := nvPublic(t, index)
	if err != nil {
		return nil, err
	}
	auth, who, err := nvAuth(pub, index, false)
	if err != nil {
		return nil, err
	}
	return nvReadChunks(t, index, pub, auth, who, chunk)
}
