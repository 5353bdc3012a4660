package pcs

import (
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
)

func TestParseRealCollateral(t *testing.T) {
	for _, d := range collateralDirs(t) {
		if _, err := ParseTCBInfo(vectortest.Read(t, d+"/tcb_info.json")); err != nil {
			t.Errorf("%s tcb_info: %v", d, err)
		}
		if _, err := ParseQEIdentity(vectortest.Read(t, d+"/qe_identity.json")); err != nil {
			t.Errorf("%s qe_identity: %v", d, err)
		}
	}
}

func collateralDirs(t *testing.T) []string {
	vectortest.Dir(t)
	return []string{
		"tdx/automata-v4-gcp/collateral",
		"tdx/dcapqvl-near-v4/collateral",
		"tdx/dcapqvl-v4-uptodate/collateral",
		"tdx/dcapqvl-v5-td15-tcb-not-supported/collateral",
		"tdx/gotdxguest-v4-spr-e4/collateral",
		"tdx/gotdxguest-v5-td15/collateral",
		"tdx/gotdxguest-v5-td15/collateral-alt-dcapqvl",
		"tdx/trustee-v4-spr-tdx_quote_4/collateral",
		"tdx/trustee-v5-alibaba-tdx_quote_5/collateral",
		"sgx/automata-v3-00606a-swhardening/collateral",
		"sgx/dcapqvl-v3-configuration-swhardening/collateral",
		"sgx/trustee-occlum-v3-debug-outofdate/collateral",
	}
}
