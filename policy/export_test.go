package policy

// ParseHexSpec and JSONName expose the hex tag reader and the key of a field
// to the external tests, which check every section's tags.
var (
	ParseHexSpec = parseHexSpec
	JSONName     = jsonName
)
