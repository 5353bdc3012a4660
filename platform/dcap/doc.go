// Package dcap parses and verifies Intel DCAP ECDSA quotes: SGX quote v3 and
// TDX quotes v4 and v5, their signature and certification data, the Quoting
// Enclave (QE) report, the PCK certificate chain and the PCK certificate's
// SGX extension. It is shared by platform/tdx and platform/sgx.
//
// Everything here is pure: parsers take []byte, keep the exact signed bytes,
// never panic and check every length; verification takes its roots and its
// time as arguments. TCB appraisal against Intel's TCB Info and QE Identity
// collateral lives in package pcs.
//
// Layouts follow Intel's headers in intel/SGXDataCenterAttestationPrimitives
// (QuoteGeneration/quote_wrapper/common/inc/sgx_quote_3.h, sgx_quote_4.h,
// sgx_quote_5.h, sgx_report.h) and the "Intel TDX DCAP Quoting Library API"
// (quote format appendix).
//
// # Byte order of printed fields
//
// Every measurement register and byte string is printed (by [Fields] and the
// claims of the verifiers) in the order the quote carries it, never reversed:
// an MRTD is the 48 bytes at TD-report offset 136, hex encoded from the first
// byte. Integers (SVNs, product IDs) are decoded from little-endian.
package dcap
