// Package nitro verifies AWS Nitro attestation documents: the documents an
// enclave's Nitro Secure Module (NSM) signs, and the NitroTPM attestation
// documents of an EC2 instance. Both are COSE_Sign1 messages (RFC 9052 §4.2)
// signed ES384 by a leaf certificate of the AWS Nitro Attestation PKI, whose
// payload is a CBOR map (aws-nitro-enclaves-nsm-api
// docs/attestation_process.md §2.2, §3; AWS EC2 User Guide, "Validate a NitroTPM
// Attestation Document").
//
// Verification is a pure function of (document, pinned root, policy, time).
// PCR values and every byte string are printed in document byte order.
package nitro

import "github.com/cloudra/cloudra"

// Platform is the platform name in results.
const Platform = "nitro"

// Kinds of artifact this platform owns. An enclave's document is
// cloudra.KindNitroDoc; a NitroTPM document, which carries nitrotpm_pcrs
// instead of pcrs, is KindTPMDocument.
const (
	KindDocument                 = cloudra.KindNitroDoc
	KindTPMDocument cloudra.Kind = "nitro/tpm-document"
)
