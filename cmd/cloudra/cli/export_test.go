package cli

// RebaseForTest exposes rebase to the external tests.
var RebaseForTest = rebase
