// Package cloudra is the shared vocabulary of the cloudra attestation
// verifier: evidence bundles, collateral sets, verification options and the
// explained result (schema cloudra.result/v1).
//
// # Stages
//
// Evidence flows through six stages, each with its own kind of package:
// acquire (platform/*/device, build-tagged, the only code touching devices)
// → parse (pure) → fetch collateral (package collateral, the only code using
// the network) → verify (pure crypto) → validate (pure policy) → present
// (cmd/cloudra, versioned JSON).
//
// Parse, verify and validate are pure functions of (evidence, collateral,
// trust roots, policy, time): no I/O, no time.Now, no globals. Time always
// arrives through [Options.Time].
//
// # Adding a platform
//
// A platform is one folder under platform/ (a pure parser, a verifier
// returning a [*Result], its policy section, and a value implementing
// seam.Platform) plus one line in the list in platform/platforms.go;
// docs/design.md ("Adding a platform") is the recipe.
package cloudra
