package cli

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudra/cloudra"
	snpdevice "github.com/cloudra/cloudra/platform/sevsnp/device"
	sgxdevice "github.com/cloudra/cloudra/platform/sgx/device"
	tdxdevice "github.com/cloudra/cloudra/platform/tdx/device"
)

type collectFlags struct {
	nonce       string
	out         string
	platform    string
	vmpl        uint32
	iface       string
	extended    bool
	cloud       string
	simulate    bool
	format      formatFlag
	tsmRoot     string
	devPath     string
	simDebug    bool
	simSeed     string
	tdxDevPath  string
	sysRoot     string
	gramineRoot string
}

func newCollectCmd(env *Env) *cobra.Command {
	var f collectFlags
	c := &cobra.Command{
		Use:   "collect [flags] --nonce HEX -o evidence.json",
		Short: "Collect attestation evidence on this guest into an evidence bundle",
		Long: `Collect attestation evidence on a confidential guest: the hardware report with the
nonce in REPORT_DATA (zero-padded to 64 bytes), plus the certificates the host offers.

SEV-SNP: configfs-tsm (/sys/kernel/config/tsm/report) first, then /dev/sev-guest.
The report is requested at --vmpl (0 by default; Sakura runs the guest OS at VMPL 2).
TDX: configfs-tsm (a quote) first, then /dev/tdx_guest (a TDREPORT); the CCEL event
log is added when the firmware offers it. SGX: Gramine's /dev/attestation, from inside
the enclave.

--simulate uses cloudra's simulated platforms instead of hardware (SEV-SNP unless
--platform tdx or sgx): their evidence verifies only with 'cloudra verify --allow-test-roots'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCollect(env, &f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.nonce, "nonce", "", "nonce (hex, at most 64 bytes) placed in REPORT_DATA; default: 32 random bytes")
	fl.StringVarP(&f.out, "out", "o", "-", "output file for the evidence bundle (- for stdout)")
	fl.StringVar(&f.platform, "platform", "auto", "platform: auto (SEV-SNP, then TDX, then SGX under Gramine), sev-snp, tdx, sgx")
	fl.Uint32Var(&f.vmpl, "vmpl", 0, "SEV-SNP VMPL to request the report at")
	fl.StringVar(&f.iface, "interface", "", "force an interface: configfs-tsm or /dev/sev-guest")
	fl.BoolVar(&f.extended, "extended", true, "ask for the host's certificate table too (extended report)")
	fl.StringVar(&f.cloud, "cloud", "", "record the cloud (aws, azure, gcp, sakura) in the bundle")
	fl.BoolVar(&f.simulate, "simulate", false, "use the simulated SNP platform (no hardware)")
	fl.StringVar(&f.tsmRoot, "tsm-root", "", "configfs-tsm root (default /sys/kernel/config/tsm/report)")
	fl.StringVar(&f.devPath, "device", "", "SEV-SNP guest device (default /dev/sev-guest)")
	fl.StringVar(&f.tdxDevPath, "tdx-device", "", "TDX guest device (default /dev/tdx_guest)")
	fl.StringVar(&f.sysRoot, "sys-root", "", "prefix for /sys paths (CCEL), for tests and chroots")
	fl.StringVar(&f.gramineRoot, "gramine-root", "", "Gramine attestation folder (default /dev/attestation)")
	fl.BoolVar(&f.simDebug, "simulate-debug", false, "with --simulate: launch the simulated guest with the DEBUG policy bit")
	fl.StringVar(&f.simSeed, "simulate-seed", "cloudra-demo", "with --simulate: seed of the simulated platform's keys")
	addFormatFlag(c, &f.format)
	return c
}

// reportDataFromNonce places the nonce in the first bytes of REPORT_DATA.
func reportDataFromNonce(n []byte) ([64]byte, error) {
	var rd [64]byte
	if len(n) > 64 {
		return rd, fmt.Errorf("nonce is %d bytes, REPORT_DATA holds 64", len(n))
	}
	copy(rd[:], n)
	return rd, nil
}

func runCollect(env *Env, f *collectFlags) error {
	var nonce []byte
	if f.nonce == "" {
		nonce = make([]byte, 32)
		if _, err := rand.Read(nonce); err != nil {
			return undecided(err, "")
		}
		fmt.Fprintln(env.Stderr, "cloudra: warning: no --nonce given; using 32 random bytes (a verifier should choose the nonce)")
	} else {
		n, err := parseHexFlag("--nonce", f.nonce, 64)
		if err != nil {
			return err
		}
		nonce = n
	}
	rd, err := reportDataFromNonce(nonce)
	if err != nil {
		return undecided(err, "hash longer challenges to 64 bytes or less")
	}
	now := env.Now().UTC().Truncate(time.Second)
	b := &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Cloud: f.cloud, Nonce: nonce, CollectedAt: &now}
	switch f.platform {
	case "auto", "sev-snp", "tdx", "sgx":
	default:
		return undecided(fmt.Errorf("unknown --platform %q", f.platform), "use auto, sev-snp, tdx or sgx")
	}
	var errs []error
	if f.platform == "auto" || f.platform == "sev-snp" {
		err := collectSNP(f, b, rd)
		if err == nil || f.platform == "sev-snp" || (f.simulate && f.platform == "auto") {
			if err != nil {
				return undecided(err, "")
			}
			return writeCollected(env, b, f.out, f.format)
		}
		errs = append(errs, err)
	}
	if f.platform == "auto" || f.platform == "tdx" {
		err := collectTDX(env, f, b, rd)
		if err == nil || f.platform == "tdx" {
			if err != nil {
				return undecided(err, "")
			}
			return writeCollected(env, b, f.out, f.format)
		}
		errs = append(errs, err)
	}
	if f.platform == "auto" || f.platform == "sgx" {
		err := collectSGX(env, f, b, rd)
		if err == nil || f.platform == "sgx" {
			if err != nil {
				return undecided(err, "")
			}
			return writeCollected(env, b, f.out, f.format)
		}
		errs = append(errs, err)
	}
	return undecided(fmt.Errorf("no confidential-computing guest interface found: %w", errors.Join(errs...)),
		"run on an SEV-SNP or TDX guest (as root), inside Gramine for SGX, or pass --simulate")
}

func collectSNP(f *collectFlags, b *cloudra.Bundle, rd [64]byte) error {
	var prov snpdevice.Provider
	var err error
	if f.simulate {
		prov, err = simulatedSNP(f)
	} else {
		prov, err = snpdevice.Open(snpdevice.Options{TSMRoot: f.tsmRoot, DevicePath: f.devPath, Extended: f.extended, Interface: f.iface})
	}
	if err != nil {
		return err
	}
	raw, err := prov.Report(rd, f.vmpl)
	if err != nil {
		return err
	}
	b.Platform = "sev-snp"
	b.Collector = "cloudra " + Version + " " + raw.Interface
	meta := map[string]string{"vmpl": strconv.FormatUint(uint64(f.vmpl), 10), "interface": raw.Interface}
	b.Artifacts = append(b.Artifacts, cloudra.Artifact{Kind: cloudra.KindSNPReport, Data: raw.Report, Meta: meta})
	if len(raw.CertTable) > 0 {
		b.Artifacts = append(b.Artifacts, cloudra.Artifact{Kind: cloudra.KindSNPCertTable, Data: raw.CertTable})
	}
	return nil
}

// collectTDX asks for a quote (configfs-tsm) or a TDREPORT (/dev/tdx_guest),
// and adds the CCEL event log when the firmware offers one (Azure does not).
func collectTDX(env *Env, f *collectFlags, b *cloudra.Bundle, rd [64]byte) error {
	var prov tdxdevice.Provider
	var err error
	if f.simulate {
		var col []cloudra.Artifact
		prov, col, err = simulatedTDX(f, env)
		b.Collateral = append(b.Collateral, col...)
	} else {
		prov, err = tdxdevice.Open(tdxdevice.Options{TSMRoot: f.tsmRoot, DevicePath: f.tdxDevPath})
	}
	if err != nil {
		return err
	}
	raw, err := prov.Report(rd)
	if err != nil {
		return err
	}
	b.Platform = "tdx"
	b.Collector = "cloudra " + Version + " " + raw.Interface
	meta := map[string]string{"interface": raw.Interface}
	if len(raw.Quote) > 0 {
		b.Artifacts = append(b.Artifacts, cloudra.Artifact{Kind: cloudra.KindTDXQuote, Data: raw.Quote, Meta: meta})
	}
	if len(raw.TDReport) > 0 {
		b.Artifacts = append(b.Artifacts, cloudra.Artifact{Kind: cloudra.KindTDReport, Data: raw.TDReport, Meta: meta})
	}
	if f.simulate {
		return nil
	}
	if ccel, err := tdxdevice.ReadCCEL(tdxdevice.SysOptions{Root: f.sysRoot}); err == nil {
		b.Artifacts = append(b.Artifacts,
			cloudra.Artifact{Kind: cloudra.KindCCEL, Data: ccel.Table},
			cloudra.Artifact{Kind: cloudra.KindCCELLog, Data: ccel.Log})
	}
	return nil
}

// collectSGX asks Gramine's /dev/attestation for a DCAP quote: cloudra then
// runs inside the enclave.
func collectSGX(env *Env, f *collectFlags, b *cloudra.Bundle, rd [64]byte) error {
	var prov sgxdevice.Provider
	var err error
	if f.simulate {
		var col []cloudra.Artifact
		prov, col, err = simulatedSGX(f, env)
		b.Collateral = append(b.Collateral, col...)
	} else {
		prov, err = sgxdevice.Open(sgxdevice.Options{Root: f.gramineRoot})
	}
	if err != nil {
		return err
	}
	raw, err := prov.Report(rd)
	if err != nil {
		return err
	}
	b.Platform = "sgx"
	b.Collector = "cloudra " + Version + " " + raw.Interface
	b.Artifacts = append(b.Artifacts, cloudra.Artifact{Kind: cloudra.KindSGXQuote, Data: raw.Quote,
		Meta: map[string]string{"interface": raw.Interface, "attestation_type": raw.AttestationType}})
	return nil
}

func writeBundle(env *Env, b *cloudra.Bundle, out string) error {
	data, err := b.Marshal()
	if err != nil {
		return undecided(err, "")
	}
	data = append(data, '\n')
	if out == "" || out == "-" {
		_, err = env.Stdout.Write(data)
		return err
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return undecided(err, "")
	}
	fmt.Fprintf(env.Stderr, "cloudra: wrote %s (%d artifacts)\n", out, len(b.Artifacts))
	return nil
}

// writeCollected writes the bundle and, with --format json and a file
// output, a cloudra.collect/v1 summary on stdout (the bundle itself is the
// JSON document when it goes to stdout).
func writeCollected(env *Env, b *cloudra.Bundle, out string, format formatFlag) error {
	if err := writeBundle(env, b, out); err != nil {
		return err
	}
	if format != "json" || out == "" || out == "-" {
		return nil
	}
	kinds := make([]cloudra.Kind, 0, len(b.Artifacts))
	for _, a := range b.Artifacts {
		kinds = append(kinds, a.Kind)
	}
	doc, err := json.MarshalIndent(map[string]any{"schema": "cloudra.collect/v1", "out": out, "platform": b.Platform,
		"collector": b.Collector, "nonce": hex.EncodeToString(b.Nonce), "artifacts": kinds}, "", "  ")
	if err != nil {
		return undecided(err, "")
	}
	_, err = fmt.Fprintf(env.Stdout, "%s\n", doc)
	return err
}
