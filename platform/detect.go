// Package platform ties the platforms together: it recognises raw artifacts
// by content, groups a bundle's artifacts, and dispatches each primary
// artifact to the verifier of the platform that owns it, building each
// verifier on first need. The platforms are listed in one file,
// platforms.go; each implements seam.Platform in its own folder.
package platform

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/platform/seam"
)

// ErrUnknownArtifact is returned by Detect for bytes it cannot recognise.
var ErrUnknownArtifact = errors.New("unrecognised artifact")

// Detect recognises a raw artifact by its content (after undoing hex or
// base64 armour) and returns its kind and its binary bytes. It never trusts
// a file name. An artifact is recognised by its header (magic, version and
// algorithm fields), so a truncated or corrupt one is still returned with
// its kind, for its verifier to reject as parse with the reason; only bytes
// with no recognisable header give ErrUnknownArtifact.
func Detect(data []byte) (cloudra.Kind, []byte, error) {
	if len(data) > cloudra.MaxArtifactSize {
		return "", nil, fmt.Errorf("artifact larger than %d bytes", cloudra.MaxArtifactSize)
	}
	// A text kind (a compact JWS) is checked before armour removal.
	t := bytes.TrimSpace(data)
	for _, p := range platforms {
		if td, ok := p.(seam.TextDetector); ok {
			if k := td.DetectText(t); k != "" {
				return k, t, nil
			}
		}
	}
	b, _ := cloudra.DecodeText(data)
	if k := detectBinary(b); k != "" {
		return k, b, nil
	}
	if k := detectBinary(data); k != "" {
		return k, data, nil
	}
	names := make([]string, 0, len(platforms))
	for _, p := range platforms {
		names = append(names, p.Name())
	}
	return "", nil, fmt.Errorf("%w: no platform recognises it (%s)", ErrUnknownArtifact, strings.Join(names, ", "))
}

func detectBinary(b []byte) cloudra.Kind {
	for _, p := range platforms {
		if k := p.Detect(b); k != "" {
			return k
		}
	}
	return ""
}
