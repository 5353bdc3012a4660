package policy

// TDX is the tdx section of a policy file. Its owner fills in the rules.
type TDX struct{}
