package cli

import (
	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/collateral"
	"github.com/cloudra/cloudra/platform"
	"github.com/cloudra/cloudra/platform/tpm"
)

// Recognising raw files
//
// A raw EVIDENCE file is recognised by its content alone, in this order:
//
//  1. a primary artifact platform.Detect knows (SEV-SNP report, DCAP quote,
//     Azure HCL report, TPMS_ATTEST, event log), except that its Nitro
//     guess (a COSE_Sign1 head: a few bytes) is weak and is taken only
//     when nothing below matches;
//  2. a TPMT_SIGNATURE (tpm2_quote -s), parsed to its last byte;
//  3. PCR values (tpm2_quote -o / tpm2_pcrread -o, or JSON);
//  4. an attestation key's public area: PEM or DER SubjectPublicKeyInfo,
//     TPM2B_PUBLIC or TPMT_PUBLIC (tpm2_readpublic -o, tpm2_createak -u);
//  5. collateral: certificates and CRLs (PEM with any number of blocks, or
//     DER; snpguest's vcek.pem/der, ask.pem, ark.pem, cert_chain.pem) and
//     PCS JSON. These join the collateral and are sorted by content like a
//     --collateral folder's files: none becomes a root.
//
// A raw signature (tpm2_quote -f plain, or the Azure vTPM quote's) has no
// structure to recognise. It is taken as the TPM quote's signature when
// the evidence holds a TPMS_ATTEST and no TPMT_SIGNATURE, and exactly one
// file is left unrecognised (or, when none is, exactly one file was taken
// for a Nitro document by its head only). Two or more files left
// over are unrecognised artifacts: a file name is never used to choose.

// recognised is one raw file sorted by content.
type recognised struct {
	evidence   []cloudra.Artifact
	collateral []cloudra.Artifact
	// weak marks a Nitro guess that a raw signature may also match.
	weak bool
}

// recogniseRaw sorts the content of one raw file (name is only recorded).
func recogniseRaw(name string, data []byte) (recognised, error) {
	kind, bin, derr := platform.Detect(data)
	if derr == nil && kind != cloudra.KindNitroDoc {
		return recognised{evidence: []cloudra.Artifact{{Kind: kind, Name: name, Data: bin}}}, nil
	}
	if k, ok := tpmCompanion(data); ok {
		a := cloudra.Artifact{Kind: k, Name: name, Data: data}
		return recognised{evidence: []cloudra.Artifact{a}}, nil
	}
	if col, err := collateral.Classify(data, name); err == nil {
		k := cloudra.KindCertificate
		switch {
		case len(col.Certificates) > 0:
		case len(col.CRLs) > 0:
			k = cloudra.KindCRL
		default:
			k = cloudra.KindPCSJSON
		}
		return recognised{collateral: []cloudra.Artifact{{Kind: k, Name: name, Data: data}}}, nil
	}
	if derr == nil {
		return recognised{evidence: []cloudra.Artifact{{Kind: kind, Name: name, Data: bin}}, weak: true}, nil
	}
	return recognised{}, derr
}

// tpmCompanion recognises the files that go with a TPM quote, by content:
// TPMT_SIGNATURE, PCR values, AK public key. The parsers are strict (exact
// lengths, known algorithms), so one file matches one kind at most.
func tpmCompanion(data []byte) (cloudra.Kind, bool) {
	if tpm.IsTPMTSignature(data) {
		return cloudra.KindTPMSig, true
	}
	if _, err := tpm.ParsePCRValues(data); err == nil {
		return cloudra.KindTPMPCRs, true
	}
	if _, err := tpm.ParsePublic(data); err == nil {
		return cloudra.KindTPMAKPub, true
	}
	return "", false
}

// unrecognised is a raw file that matched nothing (yet): it may still be
// a quote's raw signature, which only the other files can tell.
type unrecognised struct {
	path string
	data []byte
	err  error
}

// resolvePlainSignature applies the raw-signature rule to what is left
// once every file is read (see "Recognising raw files"), and returns the
// files still unrecognised.
func resolvePlainSignature(out *cloudra.Bundle, left []unrecognised, weak []int) []unrecognised {
	if _, ok := out.First(cloudra.KindTPMAttest); !ok {
		return left
	}
	if _, ok := out.First(cloudra.KindTPMSig); ok {
		return left
	}
	plain := func(name string, data []byte) cloudra.Artifact {
		return cloudra.Artifact{Kind: cloudra.KindTPMSig, Name: name, Data: data, Meta: map[string]string{"format": "plain"}}
	}
	switch {
	case len(left) > 1:
		return left // no content tells which is the signature
	case len(left) == 0 && len(weak) == 1:
		// No file left over, but one taken for a Nitro document by its
		// head: a raw signature can start with the same few bytes.
		a := &out.Artifacts[weak[0]]
		*a = plain(a.Name, a.Data)
		return nil
	case len(left) == 0:
		return nil
	}
	out.Artifacts = append(out.Artifacts, plain(artifactName(left[0].path), left[0].data))
	return nil
}
