//go:build race

package tdx

func init() { raceEnabled = true }
