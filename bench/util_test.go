package bench

import (
	"crypto/elliptic"

	"github.com/cloudra/cloudra/policy"
	"io"
	"os"

	"github.com/google/logger"
)

func elliptic256() elliptic.Curve { return elliptic.P256() }

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }

// tdxDebugPolicy allows the benchmark's debug TD (go-tdx-guest does not
// appraise TD attributes; this keeps the two doing the same work).
func tdxDebugPolicy() *policy.TDX {
	return &policy.TDX{AllowDebug: policy.Bool(true), RequireSEPTVEDisable: policy.Bool(false)}
}

// go-tdx-guest logs a warning on every verification through google/logger;
// send it nowhere so the benchmark output stays readable.
func init() { logger.Init("bench", false, false, io.Discard) }
