package cli

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/tpm"
)

type checkQuoteFlags struct {
	ak, msg, sig, pcrs, nonce, hash, eventlog, policy string
	plain                                             bool
	format                                            formatFlag
}

func newTPMCheckQuoteCmd(env *Env) *cobra.Command {
	var f checkQuoteFlags
	c := &cobra.Command{
		Use:   "check-quote -u AK -m MSG -s SIG [-f PCRS] [-q NONCE] [-g ALG]",
		Short: "Verify a quote from tpm2-tools files (tpm2_checkquote's flags)",
		Long: `Verify a TPM quote given as files, with tpm2_checkquote's flags:
  -u the AK public key: PEM, DER, TPM2B_PUBLIC or TPMT_PUBLIC (tpm2_readpublic -o / -f pem)
  -m the TPMS_ATTEST (tpm2_quote -m)      -s the TPMT_SIGNATURE (tpm2_quote -s), or a raw one (-f plain)
  -f the PCR values (tpm2_quote -o, or JSON {"sha256": {"0": "hex"}})
  -q the nonce (hex, or a file holding it)  -g the hash the signature must use (default: any the policy allows)
  -e an event log to replay against the quoted PCRs

The AK given with -u is trusted as tpm2_checkquote trusts it (pinned for this check);
the quote's magic, type, signature, nonce, PCR selection and digest are all checked,
PCR values are labelled from the signed selection, never from the PCR file. Without
-q the nonce check fails: a quote without a challenge can be replayed. --policy
applies a policy file's tpm section (banks, PCR values, event-log rules, AK pins).

Exit codes: 0 the quote verifies, 1 rejected, 2 could not decide.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runCheckQuote(cmd.Context(), env, &f) },
	}
	fl := c.Flags()
	fl.StringVarP(&f.ak, "public", "u", "", "AK public key file (PEM, DER, TPM2B_PUBLIC or TPMT_PUBLIC)")
	fl.StringVarP(&f.msg, "message", "m", "", "quote message file (TPMS_ATTEST)")
	fl.StringVarP(&f.sig, "signature", "s", "", "signature file (TPMT_SIGNATURE)")
	fl.StringVarP(&f.pcrs, "pcr", "f", "", "PCR values file (tpm2_quote -o or JSON)")
	fl.StringVarP(&f.nonce, "qualification", "q", "", "expected nonce: hex, or a file")
	fl.StringVarP(&f.hash, "hash-algorithm", "g", "", "hash algorithm the signature must use (sha256, …)")
	fl.StringVarP(&f.eventlog, "eventlog", "e", "", "TCG event log to replay against the quoted PCRs")
	fl.StringVar(&f.policy, "policy", "", "policy file whose tpm section applies")
	fl.BoolVar(&f.plain, "plain", false, "the signature is raw (tpm2_quote -f plain), not TPMT_SIGNATURE (a signature that does not parse as one is taken as raw anyway)")
	addFormatFlag(c, &f.format)
	return c
}

func runCheckQuote(ctx context.Context, env *Env, f *checkQuoteFlags) error {
	if f.ak == "" || f.msg == "" || f.sig == "" {
		return undecided(fmt.Errorf("-u, -m and -s are required"), "cloudra tpm check-quote -u ak.pem -m message.msg -s signature.sig -f pcr.pcrs -q NONCE")
	}
	read := func(path string) ([]byte, error) {
		b, err := readFileLimited(path, cloudra.MaxArtifactSize)
		if err != nil {
			return nil, undecided(err, "")
		}
		return b, nil
	}
	akb, err := read(f.ak)
	if err != nil {
		return err
	}
	pub, err := tpm.ParsePublic(akb)
	if err != nil {
		return undecided(fmt.Errorf("%s: %w", f.ak, err), looksLike(akb))
	}
	q := tpm.Quote{}
	if q.Attest, err = read(f.msg); err != nil {
		return err
	}
	if q.Signature, err = read(f.sig); err != nil {
		return err
	}
	// A signature that is not a TPMT_SIGNATURE is raw, as `cloudra verify`
	// decides it (see "Recognising raw files"); --plain says so outright.
	q.PlainSignature = f.plain || !tpm.IsTPMTSignature(q.Signature)
	if f.pcrs != "" {
		b, err := read(f.pcrs)
		if err != nil {
			return err
		}
		if q.PCRs, err = tpm.ParsePCRValues(b); err != nil {
			return undecided(fmt.Errorf("%s: %w", f.pcrs, err), looksLike(b))
		}
	}
	if f.eventlog != "" {
		if q.EventLog, err = read(f.eventlog); err != nil {
			return err
		}
	}
	var nonce []byte
	if f.nonce != "" {
		if nonce, err = nonceHexOrFile(f.nonce); err != nil {
			return err
		}
	}
	var want tpm.Alg
	if f.hash != "" {
		if want, err = tpm.ParseHashAlg(f.hash); err != nil {
			return undecided(err, "")
		}
	}
	pol, err := loadPolicy(f.policy)
	if err != nil {
		return err
	}
	tp := tpm.Policy{}
	if s := tpm.PolicyOf(pol); s != nil {
		tp = *s
	}
	// The key on the command line is the caller's trust decision, as with
	// tpm2_checkquote: pin it for this check.
	fp, err := pub.Fingerprint()
	if err != nil {
		return undecided(err, "")
	}
	tp.AKPins = append(append([]string(nil), tp.AKPins...), hex.EncodeToString(fp[:]))

	res, err := decided(tpm.VerifyQuote(ctx, q, tpm.AK{Public: pub}, nonce, &tp, cloudra.Options{Time: env.Now()}))
	if err != nil {
		return undecided(err, "")
	}
	if want != 0 {
		checkSigHash(res, q, want)
	}
	if err := printResult(env.Stdout, f.format, res); err != nil {
		return err
	}
	if res.Verdict != cloudra.Pass {
		return errRejected
	}
	return nil
}

// looksLike is a hint naming what a file given for the wrong flag is.
func looksLike(b []byte) string {
	if rec, err := recogniseRaw("", b); err == nil {
		if all := append(rec.evidence, rec.collateral...); len(all) > 0 {
			return "the file looks like " + string(all[0].Kind)
		}
	}
	return ""
}

// checkSigHash records quote.hash-alg: tpm2_checkquote -g names the hash
// the signature (and so pcrDigest) must use.
func checkSigHash(res *cloudra.Result, q tpm.Quote, want tpm.Alg) {
	if q.PlainSignature {
		res.Add("quote.hash-alg", cloudra.OutcomeSkip, "", "raw signature: its hash is not recorded in it")
		return
	}
	sig, err := tpm.ParseSignature(q.Signature)
	switch {
	case err != nil:
		return // quote.parse already failed
	case sig.Hash == want:
		res.Passf("quote.hash-alg", "signature hash %v as required by -g", sig.Hash)
	default:
		res.Failf("quote.hash-alg", cloudra.ClassPolicy, "signature hash is %v, -g requires %v", sig.Hash, want)
	}
	res.Finish()
}

// nonceHexOrFile reads -q as tpm2-tools does: hex, else the file's bytes.
func nonceHexOrFile(s string) ([]byte, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "0x")
	if b, err := hex.DecodeString(t); err == nil {
		if len(b) > 64 {
			return nil, undecided(fmt.Errorf("-q nonce is %d bytes, at most 64", len(b)), "")
		}
		return b, nil
	}
	if _, err := os.Stat(s); err == nil {
		b, err := readFileLimited(s, 64)
		if err != nil {
			return nil, undecided(err, "the nonce file holds at most 64 bytes")
		}
		return b, nil
	}
	return nil, undecided(fmt.Errorf("-q %q is neither hex nor a file", s), "")
}
