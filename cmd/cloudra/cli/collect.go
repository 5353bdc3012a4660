package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/acquire"
	nitrodevice "github.com/cloudra/cloudra/platform/nitro/device"
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
	nsmDevPath  string
	userData    string
	publicKey   string

	// nitroUserData and nitroPublicKey are --user-data and --public-key,
	// read (runCollect) before the collectors are built.
	nitroUserData, nitroPublicKey []byte
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
the enclave. Nitro: the Nitro Secure Module's /dev/nsm, from inside an enclave; there the
nonce goes to the attestation document's nonce field exactly as given (not padded, at
most 512 bytes), --user-data to its user_data and --public-key to its public_key.

--simulate uses cloudra's simulated platforms instead of hardware (SEV-SNP unless
--platform tdx, sgx or nitro): their evidence verifies only with 'cloudra verify --allow-test-roots'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCollect(cmd.Context(), env, &f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.nonce, "nonce", "", "nonce (hex) placed in REPORT_DATA (at most 64 bytes) or, with --platform nitro, the document's nonce field (at most 512); default: 32 random bytes")
	fl.StringVarP(&f.out, "out", "o", "-", "output file for the evidence bundle (- for stdout)")
	fl.StringVar(&f.platform, "platform", "auto", "platform: auto ("+autoOrder+"), "+strings.Join(platformNames(collectors(env, &f)), ", "))
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
	fl.StringVar(&f.nsmDevPath, "nsm-device", nitrodevice.DefaultDevicePath, "Nitro Secure Module device")
	fl.StringVar(&f.userData, "user-data", "", "Nitro: the document's user_data (hex, at most 512 bytes)")
	fl.StringVar(&f.publicKey, "public-key", "", "Nitro: FILE of a public key or certificate (PEM or DER) whose SubjectPublicKeyInfo goes to the document's public_key (at most 1024 bytes)")
	fl.BoolVar(&f.simDebug, "simulate-debug", false, "with --simulate: launch the simulated guest with the DEBUG policy bit")
	fl.StringVar(&f.simSeed, "simulate-seed", "cloudra-demo", "with --simulate: seed of the simulated platform's keys")
	addFormatFlag(c, &f.format)
	return c
}

// reportDataSize is the size of REPORT_DATA (SEV-SNP, TDX and SGX reports
// alike), which the nonce fills from its first byte.
const reportDataSize = 64

// reportDataFromNonce places the nonce in the first bytes of REPORT_DATA.
func reportDataFromNonce(n []byte) ([64]byte, error) {
	var rd [64]byte
	if len(n) > reportDataSize {
		return rd, fmt.Errorf("nonce is %d bytes, REPORT_DATA holds %d", len(n), reportDataSize)
	}
	copy(rd[:], n)
	return rd, nil
}

func runCollect(ctx context.Context, env *Env, f *collectFlags) error {
	if err := readNitroInputs(f); err != nil {
		return err
	}
	return collect(ctx, env, f, collectors(env, f))
}

// readNitroInputs reads --user-data and --public-key, which only a Nitro
// document carries: with another named platform they are refused rather
// than dropped.
func readNitroInputs(f *collectFlags) error {
	if f.userData == "" && f.publicKey == "" {
		return nil
	}
	if f.platform != "auto" && f.platform != nitrodevice.Platform {
		return undecided(fmt.Errorf("--user-data and --public-key are fields of a Nitro attestation document, not of --platform %s", f.platform),
			"drop them, or collect with --platform nitro")
	}
	if f.userData != "" {
		b, err := parseHexFlag("--user-data", f.userData, nitrodevice.MaxUserData)
		if err != nil {
			return err
		}
		f.nitroUserData = b
	}
	if f.publicKey != "" {
		spki, err := readSPKIFile("--public-key", f.publicKey, true)
		if err != nil {
			return err
		}
		if len(spki) > nitrodevice.MaxPublicKey {
			return undecided(fmt.Errorf("--public-key %s: the SubjectPublicKeyInfo is %d bytes, the NSM takes at most %d", f.publicKey, len(spki), nitrodevice.MaxPublicKey), "")
		}
		f.nitroPublicKey = spki
	}
	return nil
}

// nonceForPlatform reads --nonce: at most 64 bytes, REPORT_DATA's size, for
// the platforms that place it there, and at most the NSM's 512 for
// --platform nitro, whose document carries it as it is.
func nonceForPlatform(s, platformName string) ([]byte, error) {
	n, err := parseHexFlag("--nonce", s, nitrodevice.MaxNonce)
	if err != nil {
		var ee *ExitError
		if errors.As(err, &ee) && ee.Hint == "" {
			ee.Hint = nonceSizeHint
		}
		return nil, err
	}
	if len(n) > reportDataSize && platformName != nitrodevice.Platform {
		return nil, undecided(fmt.Errorf("--nonce is %d bytes, at most %d: it goes to REPORT_DATA, which holds %d", len(n), reportDataSize, reportDataSize), nonceSizeHint)
	}
	return n, nil
}

const nonceSizeHint = "hash longer challenges to 64 bytes or less; only --platform nitro takes up to 512 (the document's nonce field)"

// collect collects on the collector --platform names or, for auto, on the
// first of cs that collects, and writes the bundle.
func collect(ctx context.Context, env *Env, f *collectFlags, cs []acquire.Collector) error {
	var nonce []byte
	if f.nonce == "" {
		nonce = make([]byte, 32)
		if _, err := rand.Read(nonce); err != nil {
			return undecided(err, "")
		}
		fmt.Fprintln(env.Stderr, "cloudra: warning: no --nonce given; using 32 random bytes (a verifier should choose the nonce)")
	} else {
		n, err := nonceForPlatform(f.nonce, f.platform)
		if err != nil {
			return err
		}
		nonce = n
	}
	// A Nitro document carries the nonce in a field of its own; REPORT_DATA
	// is for the other platforms, and a nonce too long for it is only
	// accepted for --platform nitro (nonceForPlatform).
	var rd [64]byte
	var err error
	if len(nonce) <= reportDataSize {
		if rd, err = reportDataFromNonce(nonce); err != nil {
			return undecided(err, "")
		}
	}
	now := env.Now().UTC().Truncate(time.Second)
	b := &cloudra.Bundle{Schema: cloudra.EvidenceSchema, Cloud: f.cloud, Nonce: nonce, CollectedAt: &now}
	req := acquire.Request{ReportData: rd, Nonce: nonce}
	name := f.platform
	if name == "auto" && f.simulate && len(cs) > 0 {
		// A simulated platform is always there: auto is the first.
		name = cs[0].Platform()
	}
	var c acquire.Collector
	var ev *acquire.Evidence
	if name == "auto" {
		if c, ev, err = collectAuto(ctx, cs, req); err != nil {
			return undecided(fmt.Errorf("no confidential-computing guest interface found: %w", err), noGuestHint)
		}
	} else {
		i := slices.IndexFunc(cs, func(c acquire.Collector) bool { return c.Platform() == name })
		if i < 0 {
			return undecided(fmt.Errorf("unknown --platform %q", f.platform),
				"use "+orList(append([]string{"auto"}, platformNames(cs)...)))
		}
		c = cs[i]
		if ev, err = c.Collect(ctx, req); err != nil {
			return undecided(err, "")
		}
	}
	if (f.nitroUserData != nil || f.nitroPublicKey != nil) && c.Platform() != nitrodevice.Platform {
		return undecided(fmt.Errorf("--user-data and --public-key are fields of a Nitro attestation document; auto collected on %s", c.Platform()),
			"drop them, or collect with --platform nitro")
	}
	b.Platform = c.Platform()
	b.Collector = "cloudra " + Version + " " + ev.Interface
	b.Artifacts = ev.Artifacts
	b.Collateral = ev.Collateral
	return writeCollected(env, b, f.out, f.format)
}

// collectAuto tries the collectors in order and returns the first that
// collects. A collector that fails does not end the search, whether its
// platform is not on this machine (acquire.ErrNotAvailable) or its
// interface is there and failed: when none collects, the error names each
// one's failure, in order.
func collectAuto(ctx context.Context, cs []acquire.Collector, req acquire.Request) (acquire.Collector, *acquire.Evidence, error) {
	var errs []error
	for _, c := range cs {
		ev, err := c.Collect(ctx, req)
		if err == nil {
			return c, ev, nil
		}
		errs = append(errs, err)
	}
	return nil, nil, errors.Join(errs...)
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
