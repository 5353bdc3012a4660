package cli

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/tpm/device"
)

type tpmQuoteFlags struct {
	spec, nonce, pcrs, ak, out, toolsOut, eventlog, cloud string
	format                                                formatFlag
}

func newTPMQuoteCmd(env *Env) *cobra.Command {
	var f tpmQuoteFlags
	c := &cobra.Command{
		Use:   "quote --nonce HEX --pcrs sha256:0,1,7 [--ak HANDLE] [-o evidence.json] [--tpm2-tools-out DIR]",
		Short: "Quote PCRs with an attestation key into an evidence bundle",
		Long: `Make a TPM2_Quote over --pcrs (tpm2-tools syntax: sha256:0,1,7, sha1:0,1+sha256:all)
with the nonce as qualifying data, signed by the AK at --ak (default 0x81000002;
Azure: 0x81000003). The PCR values are read after the quote and checked against the
quoted digest; if a PCR moved in between, the quote is taken again.

The evidence bundle holds the TPMS_ATTEST, the TPMT_SIGNATURE, the PCR values (in
tpm2_quote -o format), the AK public area (TPM2B_PUBLIC) and the firmware event
log (--eventlog; 'none' to leave it out). Verify it with 'cloudra verify'.

--tpm2-tools-out DIR also writes message.msg, signature.sig, pcr.pcrs, ak.pem and
ak.pub, which tpm2_checkquote accepts as they are:
  tpm2_checkquote -u ak.pem -m message.msg -s signature.sig -f pcr.pcrs -g sha256 -q NONCE`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runTPMQuote(env, &f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.nonce, "nonce", "", "nonce (hex, at most 64 bytes) used as qualifying data; default: 32 random bytes")
	fl.StringVar(&f.pcrs, "pcrs", "sha256:all", "PCR selection in tpm2-tools syntax")
	fl.StringVar(&f.ak, "ak", "0x81000002", "persistent handle of the attestation key")
	fl.StringVarP(&f.out, "out", "o", "-", "output file for the evidence bundle (- for stdout)")
	fl.StringVar(&f.toolsOut, "tpm2-tools-out", "", "also write tpm2-tools files (message.msg, signature.sig, pcr.pcrs, ak.pem, ak.pub) to this directory")
	fl.StringVar(&f.eventlog, "eventlog", "", "event log to include (default "+device.DefaultEventLogPath+" if readable; none to omit)")
	fl.StringVar(&f.cloud, "cloud", "", "record the cloud (aws, azure, gcp, sakura) in the bundle")
	addTPMFlag(c, &f.spec)
	addFormatFlag(c, &f.format)
	return c
}

func runTPMQuote(env *Env, f *tpmQuoteFlags) error {
	var nonce []byte
	var err error
	if f.nonce != "" {
		if nonce, err = parseHexFlag("--nonce", f.nonce, 64); err != nil {
			return err
		}
	} else {
		nonce = make([]byte, 32)
		if _, err := rand.Read(nonce); err != nil {
			return undecided(err, "")
		}
	}
	sel, err := device.ParsePCRSelection(f.pcrs)
	if err != nil {
		return undecided(err, "")
	}
	ak, err := parseHandle("--ak", f.ak)
	if err != nil {
		return err
	}
	var elog []byte
	switch f.eventlog {
	case "none":
	case "":
		// The default log is optional: many vTPMs and containers have none.
		if b, err := device.ReadEventLog(""); err == nil {
			elog = b
		}
	default:
		if elog, err = device.ReadEventLog(f.eventlog); err != nil {
			return undecided(err, "")
		}
	}

	t, err := openTPM(f.spec)
	if err != nil {
		return err
	}
	q, err := device.Quote(t, ak, nonce, sel)
	t.Close()
	if err != nil {
		return tpmErr(err)
	}
	pcrFile, err := q.TPM2ToolsPCRs()
	if err != nil {
		return tpmErr(err)
	}

	now := env.Now().UTC()
	b := &cloudra.Bundle{
		Schema: cloudra.EvidenceSchema, Platform: "tpm", Cloud: f.cloud, Nonce: nonce, CollectedAt: &now,
		Collector: "cloudra " + Version + " tpm quote",
	}
	akh := fmt.Sprintf("0x%08x", ak)
	selText := device.FormatPCRSelection(q.Selection)
	b.Artifacts = append(b.Artifacts,
		cloudra.Artifact{Kind: cloudra.KindTPMAttest, Name: "message.msg", Data: q.Attest, Meta: map[string]string{"ak_handle": akh}},
		cloudra.Artifact{Kind: cloudra.KindTPMSig, Name: "signature.sig", Data: q.Signature},
		cloudra.Artifact{Kind: cloudra.KindTPMPCRs, Name: "pcr.pcrs", Data: pcrFile, Meta: map[string]string{"format": "tpm2-tools", "selection": selText}},
		cloudra.Artifact{Kind: cloudra.KindTPMAKPub, Name: "ak.pub", Data: q.AK.Public, Meta: map[string]string{"handle": akh, "format": "tpm2b_public"}},
	)
	if elog != nil {
		b.Artifacts = append(b.Artifacts, cloudra.Artifact{Kind: cloudra.KindEventLog, Name: "binary_bios_measurements", Data: elog})
	}

	var files []string
	if f.toolsOut != "" {
		if files, err = writeTPM2ToolsFiles(f.toolsOut, q, pcrFile); err != nil {
			return err
		}
	}
	if err := writeBundle(env, b, f.out); err != nil {
		return err
	}
	if f.out == "-" || f.out == "" {
		return nil // stdout holds the bundle
	}
	if f.format == "json" {
		return printJSON(env.Stdout, struct {
			AK        string            `json:"ak"`
			Nonce     string            `json:"nonce"`
			Selection string            `json:"selection"`
			Attempts  int               `json:"attempts"`
			PCRs      []device.PCRValue `json:"pcrs"`
			EventLog  bool              `json:"event_log"`
			Bundle    string            `json:"bundle"`
			Files     []string          `json:"tpm2_tools_files,omitempty"`
		}{akh, hex.EncodeToString(nonce), selText, q.Attempts, q.PCRs, elog != nil, f.out, files})
	}
	fmt.Fprintf(env.Stdout, "quote by %s (%s) over %s, nonce %x\n", akh, q.AK.Summary(), selText, nonce)
	for _, v := range q.PCRs {
		fmt.Fprintf(env.Stdout, "  %s:%-2d %x\n", v.Bank, v.Index, v.Digest)
	}
	if elog == nil {
		fmt.Fprintln(env.Stdout, "no event log included")
	}
	if len(files) > 0 {
		fmt.Fprintf(env.Stdout, "tpm2-tools files in %s: tpm2_checkquote -u ak.pem -m message.msg -s signature.sig -f pcr.pcrs -g sha256 -q %x\n", f.toolsOut, nonce)
	}
	return nil
}

// writeTPM2ToolsFiles writes the quote as tpm2_quote/tpm2_readpublic would.
func writeTPM2ToolsFiles(dir string, q *device.QuoteResult, pcrFile []byte) ([]string, error) {
	pemb, err := q.AK.PEM()
	if err != nil {
		return nil, tpmErr(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, undecided(err, "")
	}
	files := []struct {
		name string
		data []byte
	}{
		{"message.msg", q.Attest}, {"signature.sig", q.Signature}, {"pcr.pcrs", pcrFile},
		{"ak.pem", pemb}, {"ak.pub", q.AK.Public},
	}
	var names []string
	for _, fl := range files {
		p := filepath.Join(dir, fl.name)
		if err := os.WriteFile(p, fl.data, 0o644); err != nil {
			return nil, undecided(err, "")
		}
		names = append(names, p)
	}
	return names, nil
}
