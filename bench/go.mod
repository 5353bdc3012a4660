module github.com/cloudra/cloudra/bench

go 1.26.0

replace github.com/cloudra/cloudra => ../

require (
	github.com/cloudra/cloudra v0.0.0-00010101000000-000000000000
	github.com/fxamacker/cbor/v2 v2.10.0
	github.com/google/go-sev-guest v0.15.0
	github.com/google/go-tdx-guest v0.3.1
)

require (
	github.com/google/logger v1.1.1 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/veraison/go-cose v1.3.0 // indirect
	github.com/x448/float16 v0.8.4 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	google.golang.org/protobuf v1.33.0 // indirect
)
