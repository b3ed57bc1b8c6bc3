// Package httpjson writes JSON answers, the one way every HTTP surface of
// firebreak (the Slack transport, the web API, the inbound webhooks) does.
// It uses the standard library only, so any layer may import it.
package httpjson

import (
	"encoding/json"
	"net/http"
)

// Write answers status with v encoded as JSON.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
