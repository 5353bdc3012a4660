package policy

// SGX is the sgx section of a policy file. Its owner fills in the rules.
type SGX struct{}
