//go:build !race

package platform_test

// raceEnabled: CPU bounds are asserted only without the race detector,
// which slows every instruction several times.
const raceEnabled = false
