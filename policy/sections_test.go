package policy_test

import "github.com/cloudra/cloudra/platform"

// parse reads a policy file with every platform's section, as the CLI and
// the server do: this package knows the format, the platforms own the
// sections.
var parse = platform.ParsePolicy
