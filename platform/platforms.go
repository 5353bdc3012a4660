package platform

import (
	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/azure"
	"github.com/cloudra/cloudra/platform/nitro"
	"github.com/cloudra/cloudra/platform/seam"
	"github.com/cloudra/cloudra/platform/sevsnp"
	"github.com/cloudra/cloudra/platform/sgx"
	"github.com/cloudra/cloudra/platform/tdx"
	"github.com/cloudra/cloudra/platform/tpm"
)

// platforms is the one explicit list of platforms (no init() magic). Adding
// a platform is its folder, implementing seam.Platform, and one line here;
// docs/design.md ("Adding a platform") is the recipe. The order is the order
// in which they are asked to recognise a file.
var platforms = []seam.Platform{
	azure.Seam(),
	sevsnp.Seam(),
	tdx.Seam(),
	sgx.Seam(),
	tpm.Seam(),
	nitro.Seam(),
	recognisedText("maa", cloudra.KindMAAToken, isCompactJWS),
}
