// Package tools pins the development tools CI runs (helm, kubeconform,
// staticcheck) as go tool dependencies of this separate module, so they
// never enter the product's go.mod, and holds the checks that need them:
// the release configuration and the Helm chart. See docs/adr/0008.
package tools
