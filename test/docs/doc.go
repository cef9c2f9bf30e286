// Package docs keeps the documentation in step with the code: the package
// list of docs/development.md's "Layout" section and README.md's "Map of the
// code" against go list, and every relative link in README.md and docs/*.md
// against the files and headings it points at. A package added, moved or
// removed fails here until the lists say so; only the lists need editing.
package docs
