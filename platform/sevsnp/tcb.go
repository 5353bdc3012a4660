package sevsnp

import (
	"fmt"
	"strings"
)

// Product lines. Siena uses the Genoa line (same ARK/ASK, same KDS path).
const (
	Milan = "Milan"
	Genoa = "Genoa"
	Turin = "Turin"
)

// ProductFromCPUID maps the CPUID family/model of a v3+ report to the KDS
// product line, or "" when unknown. Ranges follow virtee/sev
// Generation::identify_cpu and virtee/snpguest get_processor_model: family
// 0x19 models 0x00–0x0F Milan, 0x10–0x1F Genoa, 0xA0–0xAF Siena (Genoa line);
// family 0x1A models 0x00–0x11 Turin.
func ProductFromCPUID(family, model uint8) string {
	switch family {
	case 0x19:
		switch {
		case model <= 0x0F:
			return Milan
		case model >= 0x10 && model <= 0x1F, model >= 0xA0 && model <= 0xAF:
			return Genoa
		}
	case 0x1A:
		if model <= 0x11 {
			return Turin
		}
	}
	return ""
}

// ProductFromName maps a VCEK/VLEK product-name extension ("Milan-B0",
// "Genoa", "Turin") or a user hint ("milan") to the product line, or "".
func ProductFromName(name string) string {
	base, _, _ := strings.Cut(name, "-")
	switch strings.ToLower(base) {
	case "milan":
		return Milan
	case "genoa", "siena":
		return Genoa
	case "turin":
		return Turin
	}
	return ""
}

// TCBParts is a TCB_VERSION decoded with the layout of its product
// (SEV-SNP ABI spec, TCB_VERSION): Milan and Genoa have no FMC SPL; Turin moves every SPL.
type TCBParts struct {
	Turin      bool // layout used; FMC is meaningful only when true
	FMC        uint8
	Bootloader uint8
	TEE        uint8
	SNP        uint8
	Microcode  uint8
}

// Parts decodes the TCB_VERSION with the layout of product. It never guesses:
// callers resolve the product first.
func (t TCBVersion) Parts(product string) TCBParts {
	b := func(i uint) uint8 { return uint8(uint64(t) >> (8 * i)) }
	if product == Turin {
		return TCBParts{Turin: true, FMC: b(0), Bootloader: b(1), TEE: b(2), SNP: b(3), Microcode: b(7)}
	}
	return TCBParts{Bootloader: b(0), TEE: b(1), SNP: b(6), Microcode: b(7)}
}

// Bytes returns the 8 bytes in report order.
func (t TCBVersion) Bytes() [8]byte {
	var out [8]byte
	for i := range out {
		out[i] = byte(uint64(t) >> (8 * i))
	}
	return out
}

// String renders the TCB as hex in report order (as in the vectors README).
func (t TCBVersion) String() string {
	b := t.Bytes()
	return fmt.Sprintf("%x", b[:])
}

// AtLeast reports whether every component of p is ≥ the same component of
// min. Components are compared one by one, never as a packed integer
// (go-sev-guest PR #59).
func (p TCBParts) AtLeast(min TCBParts) bool {
	return p.Bootloader >= min.Bootloader && p.TEE >= min.TEE && p.SNP >= min.SNP &&
		p.Microcode >= min.Microcode && (!p.Turin || p.FMC >= min.FMC)
}

// Equal reports component-wise equality.
func (p TCBParts) Equal(o TCBParts) bool { return p == o }

// Components returns the SPLs keyed by name, for results.
func (p TCBParts) Components() map[string]uint64 {
	m := map[string]uint64{
		"bootloader": uint64(p.Bootloader), "tee": uint64(p.TEE), "snp": uint64(p.SNP), "microcode": uint64(p.Microcode),
	}
	if p.Turin {
		m["fmc"] = uint64(p.FMC)
	}
	return m
}

func (p TCBParts) String() string {
	if p.Turin {
		return fmt.Sprintf("fmc=%d bl=%d tee=%d snp=%d ucode=%d", p.FMC, p.Bootloader, p.TEE, p.SNP, p.Microcode)
	}
	return fmt.Sprintf("bl=%d tee=%d snp=%d ucode=%d", p.Bootloader, p.TEE, p.SNP, p.Microcode)
}
