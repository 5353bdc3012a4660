// Package layering holds no code: its tests hold the module to its import
// rules (the table in docs/design.md, section "Import rules") and its
// comments and documents to citing the specifications and the repository's
// own tables, never notes kept elsewhere.
package layering
