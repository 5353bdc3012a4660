package nitrosim

import (
	"strconv"
	"time"
)

// TPMPCRs is the number of PCRs a NitroTPM document carries: the SHA-384
// bank's PCRs 0–23 (AWS EC2 User Guide, "NitroTPM attestation document
// content").
const TPMPCRs = 24

// TPMModuleID is the module ID of the instance's NitroTPM documents.
func (p *PKI) TPMModuleID() string { return p.instanceID }

// TPMPCRValues returns the simulated instance's SHA-384 PCRs 0–23, each
// derived from the seed: the boot of a simulated EC2 instance.
func (p *PKI) TPMPCRValues() map[uint][]byte {
	out := make(map[uint][]byte, TPMPCRs)
	for i := range uint(TPMPCRs) {
		v := make([]byte, PCRSize)
		_ = derive(p.seed, "tpm pcr "+strconv.Itoa(int(i)), v) // cannot fail for 48 bytes
		out[i] = v
	}
	return out
}

// TPMPayload returns the payload of a NitroTPM attestation document made at
// at and signed by c's leaf: an enclave document's fields with the PCRs
// under "nitrotpm_pcrs" (AWS EC2 User Guide, "Validate a NitroTPM
// Attestation Document").
func (p *PKI) TPMPayload(c *Chain, at time.Time) *Payload {
	pl := NewPayload(c, p.TPMModuleID(), at, p.TPMPCRValues())
	pl.TPM = true
	return pl
}

// TPMDocument returns a NitroTPM attestation document made at at, with
// these inputs (nil is written null), signed by the chain the PKI mints
// for at.
func (p *PKI) TPMDocument(at time.Time, userData, nonce, publicKey []byte) ([]byte, error) {
	c, err := p.Chain(at)
	if err != nil {
		return nil, err
	}
	pl := p.TPMPayload(c, at)
	pl.UserData, pl.Nonce, pl.PublicKey = userData, nonce, publicKey
	return c.Sign(pl)
}
