package cli

import (
	"strings"

	"github.com/cloudra/cloudra/platform/acquire"
	nitrodevice "github.com/cloudra/cloudra/platform/nitro/device"
	snpdevice "github.com/cloudra/cloudra/platform/sevsnp/device"
	sgxdevice "github.com/cloudra/cloudra/platform/sgx/device"
	tdxdevice "github.com/cloudra/cloudra/platform/tdx/device"
)

// collectors is the one list of the platforms 'cloudra collect' collects
// on, in the order --platform auto tries them. Adding a platform with a
// guest interface is its device package's acquire.Collector and one line
// here (plus its flags, and the two texts below). With --simulate each
// collector gets its simulated platform instead of this machine's
// interface (sim.go).
func collectors(env *Env, f *collectFlags) []acquire.Collector {
	return []acquire.Collector{
		&snpdevice.Collector{VMPL: f.vmpl, Open: simSNP(f),
			Options: snpdevice.Options{TSMRoot: f.tsmRoot, DevicePath: f.devPath, Extended: f.extended, Interface: f.iface}},
		&tdxdevice.Collector{Open: simTDX(f, env), Sys: tdxdevice.SysOptions{Root: f.sysRoot},
			Options: tdxdevice.Options{TSMRoot: f.tsmRoot, DevicePath: f.tdxDevPath}},
		&sgxdevice.Collector{Open: simSGX(f, env), Options: sgxdevice.Options{Root: f.gramineRoot}},
		&nitrodevice.Collector{Open: simNitro(f, env), Options: nitrodevice.Options{DevicePath: f.nsmDevPath},
			UserData: f.nitroUserData, PublicKey: f.nitroPublicKey},
	}
}

// The list above in words: the auto order for --platform's help, and the
// hint when no platform of the list is on this machine.
const (
	autoOrder   = "SEV-SNP, then TDX, then SGX under Gramine, then a Nitro enclave"
	noGuestHint = "run on an SEV-SNP or TDX guest (as root), inside Gramine for SGX, inside a Nitro enclave (/dev/nsm), or pass --simulate"
)

func platformNames(cs []acquire.Collector) []string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Platform()
	}
	return names
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
