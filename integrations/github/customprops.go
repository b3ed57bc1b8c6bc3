package github

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
)

// GitHub gives a repository's custom properties (custom_properties)
// wherever it gives the repository: GET /repos/{owner}/{repo}, a workflow
// run's repositories, every webhook payload. A string, true_false or
// single_select property's value is a string, a multi_select one's an array
// of strings, and an unset one is null; go-github v60 reads every value as
// a string (google/go-github#3229, fixed in v64), so an answer or a payload
// that holds a multi_select or unset property fails to decode whole. The
// bot reads no custom property: it drops them before go-github decodes.

// customPropertiesKey is the field dropped, quoted as JSON writes it.
var customPropertiesKey = []byte(`"custom_properties"`)

// withoutCustomProperties returns the JSON document b with every
// custom_properties field of its objects, at any depth, left out; the rest
// is kept as it was written. A document that holds none, or that is not
// JSON, is returned as it is, for its decoder to judge.
func withoutCustomProperties(b []byte) []byte {
	if !bytes.Contains(b, customPropertiesKey) {
		return b
	}
	out, changed, err := dropCustomProperties(json.RawMessage(b))
	if err != nil || !changed {
		return b
	}
	return out
}

// dropCustomProperties is withoutCustomProperties for one JSON value.
func dropCustomProperties(v json.RawMessage) (json.RawMessage, bool, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || !bytes.Contains(v, customPropertiesKey) {
		return v, false, nil
	}
	switch v[0] {
	case '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(v, &obj); err != nil {
			return v, false, err
		}
		_, changed := obj["custom_properties"]
		delete(obj, "custom_properties")
		for k, field := range obj {
			out, c, err := dropCustomProperties(field)
			if err != nil {
				return v, false, err
			}
			if c {
				obj[k], changed = out, true
			}
		}
		if !changed {
			return v, false, nil
		}
		out, err := json.Marshal(obj)
		return out, err == nil, err
	case '[':
		var list []json.RawMessage
		if err := json.Unmarshal(v, &list); err != nil {
			return v, false, err
		}
		changed := false
		for i, item := range list {
			out, c, err := dropCustomProperties(item)
			if err != nil {
				return v, false, err
			}
			if c {
				list[i], changed = out, true
			}
		}
		if !changed {
			return v, false, nil
		}
		out, err := json.Marshal(list)
		return out, err == nil, err
	}
	return v, false, nil // a string that mentions the key, a number, ...
}

// customPropertiesFilter drops custom_properties from GitHub's JSON
// answers before go-github reads them.
type customPropertiesFilter struct{ next http.RoundTripper }

func (t customPropertiesFilter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.Body == nil || resp.Body == http.NoBody {
		return resp, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if out := withoutCustomProperties(body); len(out) != len(body) {
		body = out
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// withCustomPropertiesFilter returns a copy of c (nil is a default client)
// whose answers go through customPropertiesFilter.
func withCustomPropertiesFilter(c *http.Client) *http.Client {
	out := &http.Client{}
	if c != nil {
		*out = *c
	}
	next := out.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	out.Transport = customPropertiesFilter{next: next}
	out.CheckRedirect = keepWrites(out.CheckRedirect)
	return out
}

// keepWrites refuses to follow a redirect that would turn a write into a
// read: Go follows a 301, 302 or 303 after a PATCH, POST, PUT or DELETE with
// a GET, whose answer (the moved issue, unchanged) would pass for the
// write's. GitHub answers 301 for an issue transferred to another
// repository; the write then fails with that status instead of seeming
// done. Redirects that keep the method (307, 308) and those of reads are
// followed as before.
func keepWrites(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if orig := via[0].Method; orig != http.MethodGet && orig != http.MethodHead && req.Method != orig {
			return http.ErrUseLastResponse
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}
