module github.com/cloudra/cloudra/bench

go 1.26.0

replace github.com/cloudra/cloudra => ../

require (
	github.com/google/go-sev-guest v0.15.0 // indirect
	github.com/google/go-tdx-guest v0.3.1 // indirect
)
