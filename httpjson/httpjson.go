// Package httpjson writes JSON answers, the one way every HTTP surface of
// firebreak (the Slack transport, the web API, the inbound webhooks) does,
// and finds a key a JSON body names twice, which decoding lets pass. It uses
// the standard library only, so any layer may import it.
package httpjson

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// Write answers status with v encoded as JSON.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// DuplicateKey finds a key that an object of body names twice, at any
// depth: encoding/json keeps the last silently, and whoever sent both meant
// one of them. ok is false when there is none, or when body is not JSON
// (which decoding reports).
func DuplicateKey(body []byte) (key string, ok bool) {
	key, err := firstDuplicate(json.NewDecoder(bytes.NewReader(body)))
	return key, err == nil && key != ""
}

// firstDuplicate reads one JSON value from dec and returns the first key
// an object in it names twice, or "".
func firstDuplicate(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	delim, ok := tok.(json.Delim)
	if !ok || (delim != '{' && delim != '[') {
		return "", nil
	}
	var seen map[string]bool
	if delim == '{' {
		seen = map[string]bool{}
	}
	for dec.More() {
		if seen != nil {
			tok, err := dec.Token()
			if err != nil {
				return "", err
			}
			k, _ := tok.(string)
			if seen[k] {
				return k, nil
			}
			seen[k] = true
		}
		if k, err := firstDuplicate(dec); err != nil || k != "" {
			return k, err
		}
	}
	_, err = dec.Token()
	return "", err
}
