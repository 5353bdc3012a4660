package policy

// TPM is the tpm section of a policy file. Its owner fills in the rules.
type TPM struct{}
