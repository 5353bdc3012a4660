package pcs

import (
	"encoding/hex"
	"strings"
)

// PCS v4 endpoints (Intel "Provisioning Certification Service for ECDSA
// Attestation", API v4). A PCCS or a cloud cache (Azure THIM) serves the same
// paths under its own base URL, so every builder takes the base.
//
// Issuer chains arrive in response headers, URL-encoded PEM, signer first and
// root last:
//   - TCB Info:                     TCB-Info-Issuer-Chain (older PCCS: SGX-TCB-Info-Issuer-Chain)
//   - QE Identity:                  SGX-Enclave-Identity-Issuer-Chain
//   - PCK CRL:                      SGX-PCK-CRL-Issuer-Chain
//
// Store the decoded PEM in cloudra.Document.IssuerChain (or add the
// certificates to cloudra.Collateral.Certificates); see [Certificates].
const (
	// DefaultBase is Intel's production PCS.
	DefaultBase = "https://api.trustedservices.intel.com"
	// RootCACRLURL is the CRL distribution point of the Intel SGX Root CA
	// (DER); it lists revoked PCK Platform/Processor CA and TCB Signing
	// certificates.
	RootCACRLURL = "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"

	HeaderTCBInfoIssuerChain    = "TCB-Info-Issuer-Chain"
	HeaderTCBInfoIssuerChainOld = "SGX-TCB-Info-Issuer-Chain"
	HeaderQEIdentityIssuerChain = "SGX-Enclave-Identity-Issuer-Chain"
	HeaderPCKCRLIssuerChain     = "SGX-PCK-CRL-Issuer-Chain"
)

// CA names the PCK intermediate CA whose CRL is wanted.
type CA string

// PCK intermediate CAs (certificate CN "Intel SGX PCK Platform CA" /
// "Intel SGX PCK Processor CA").
const (
	PlatformCA  CA = "platform"
	ProcessorCA CA = "processor"
)

func base(b string) string {
	if b == "" {
		return DefaultBase
	}
	return strings.TrimRight(b, "/")
}

func teePath(tee TEE) string {
	if tee == TDX {
		return "/tdx/certification/v4"
	}
	return "/sgx/certification/v4"
}

// TCBInfoURL is GET {base}/{sgx|tdx}/certification/v4/tcb?fmspc=<hex>. An
// empty base means [DefaultBase].
func TCBInfoURL(baseURL string, tee TEE, fmspc [6]byte) string {
	return base(baseURL) + teePath(tee) + "/tcb?fmspc=" + hex.EncodeToString(fmspc[:])
}

// QEIdentityURL is GET {base}/sgx/certification/v4/qe/identity (QE) or
// {base}/tdx/certification/v4/qe/identity (TD_QE).
func QEIdentityURL(baseURL string, tee TEE) string {
	return base(baseURL) + teePath(tee) + "/qe/identity"
}

// PCKCRLURL is GET {base}/sgx/certification/v4/pckcrl?ca=<platform|processor>&encoding=der
// (the PCK CRL is served under the SGX path for TDX too).
func PCKCRLURL(baseURL string, ca CA) string {
	return base(baseURL) + "/sgx/certification/v4/pckcrl?ca=" + string(ca) + "&encoding=der"
}

// CAFromIssuerCN maps a PCK certificate's issuer CN to its CA, or "".
func CAFromIssuerCN(cn string) CA {
	switch cn {
	case "Intel SGX PCK Platform CA":
		return PlatformCA
	case "Intel SGX PCK Processor CA":
		return ProcessorCA
	}
	return ""
}
