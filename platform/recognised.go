package platform

import (
	"bytes"
	"fmt"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/seam"
	"github.com/cloudra/cloudra/policy"
)

// recognisedText is a platform whose artifacts, text seen before armour is
// removed, this cloudra recognises but cannot verify yet: a bundle carrying
// one is refused ([ErrUnsupportedArtifact]), never verified on the rest
// alone, and `cloudra inspect` names its kind. (A binary kind would set
// detect instead of detectText.)
func recognisedText(name string, kind cloudra.Kind, detect func([]byte) bool) seam.Platform {
	return &recognisedPlatform{name: name, kind: kind, detectText: detect}
}

type recognisedPlatform struct {
	name       string
	kind       cloudra.Kind
	detect     func([]byte) bool
	detectText func([]byte) bool
}

func (p *recognisedPlatform) Name() string { return p.name }
func (p *recognisedPlatform) Kinds() []seam.KindSpec {
	return []seam.KindSpec{{Kind: p.kind, Role: seam.Primary}}
}
func (p *recognisedPlatform) Detect(b []byte) cloudra.Kind {
	if p.detect != nil && p.detect(b) {
		return p.kind
	}
	return ""
}
func (p *recognisedPlatform) DetectText(t []byte) cloudra.Kind {
	if p.detectText != nil && p.detectText(t) {
		return p.kind
	}
	return ""
}
func (p *recognisedPlatform) Inspect(kind cloudra.Kind, _ []byte) ([]cloudra.Claim, error) {
	return nil, fmt.Errorf("%w: no inspector for %s", ErrUnknownArtifact, kind)
}
func (p *recognisedPlatform) Policy() policy.Section                { return policy.Section{} }
func (p *recognisedPlatform) Build(seam.Env) (seam.Verifier, error) { return nil, nil }

// isCompactJWS: three base64url parts of a JWS Compact Serialization
// (RFC 7515 §7.1) whose header starts '{"' ("eyJ"): an MAA token.
func isCompactJWS(t []byte) bool {
	return bytes.HasPrefix(t, []byte("eyJ")) && bytes.Count(t, []byte(".")) == 2
}
