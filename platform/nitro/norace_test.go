//go:build !race

package nitro

const raceEnabled = false
