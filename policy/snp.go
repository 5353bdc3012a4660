package policy

// SEVSNP is the snp section of a policy file. Its owner fills in the rules.
type SEVSNP struct{}
