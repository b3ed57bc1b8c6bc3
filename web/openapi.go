package web

import (
	_ "embed"
	"net/http"
)

// openAPI is the API's OpenAPI 3 document. TestOpenAPI checks it against
// the routes and validates real responses with it.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the API's OpenAPI 3 document.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPI)
}
