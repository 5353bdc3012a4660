// Package device talks to a TPM 2.0: the kernel device (/dev/tpmrm0,
// /dev/tpm0) or a software TPM over TCP (swtpm, the Microsoft/IBM
// simulator). It creates and finds endorsement and attestation keys at the
// persistent handles the clouds use, makes quotes, reads and writes NV
// indices and reads the firmware event log.
//
// Everything here returns raw TPM structures exactly as the TPM produced
// them (TPMS_ATTEST, TPMT_SIGNATURE, TPM2B_PUBLIC); judging them is the job
// of the pure verifier in platform/tpm.
//
// Every operation flushes each transient object and session it loads, so it
// also works on a TPM without a resource manager (/dev/tpm0, swtpm), which
// has only about three object slots: tpm2-tools run one by one on such a TPM
// fail with "out of memory for object contexts" once they leak.
//
// Handles (TCG EK Credential Profile 2.x §2.2.1.5, TCG Provisioning Guidance
// §7.8, and what the clouds ship; see docs/tpm.md):
//
//	0x81000001  SRK by TCG guidance; Azure keeps an RSA EK here
//	0x81000002  AK created by cloudra / tpm2_createak (the talk's handle)
//	0x81000003  Azure vTPM AK (HCLAkPub in the HCL report runtime claims)
//	0x81010001  EK RSA-2048, template L-1
//	0x81010002  EK ECC NIST P-256, template L-2
//	0x81010016  EK ECC NIST P-384, template H-3 (AWS NitroTPM)
//	0x01400001  Azure HCL report (NV)
//	0x01400002  Azure user data for a fresh HCL report (NV, 64 bytes)
package device
