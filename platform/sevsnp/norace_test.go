//go:build !race

package sevsnp

const raceEnabled = false
