// Package httpjson writes JSON answers, the one way every HTTP surface of
// firebreak (the Slack transport, the web API, the inbound webhooks) does,
// and finds a key a JSON body names twice, which decoding lets pass. It uses
// the standard library only, so any layer may import it.
package httpjson

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"unicode"
)

// Write answers status with v encoded as JSON.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// DuplicateField finds a key that an object of body names twice, at any
// depth: encoding/json keeps the last silently, and whoever sent both meant
// one of them. into is a pointer to the value json.Unmarshal fills: the keys
// of an object that fills a struct are compared as encoding/json matches
// them to its fields, equal under Unicode case folding (an exact match to a
// field's name first), so "Severity" after "severity" sets the same field
// twice; the keys of one that fills a map, or anything but a struct (or
// everything, with a nil into), exactly. ok is false when there is none, or
// when body is not JSON (which decoding reports).
func DuplicateField(body []byte, into any) (key string, ok bool) {
	var t reflect.Type
	if into != nil {
		t = reflect.TypeOf(into)
	}
	key, err := firstDuplicate(json.NewDecoder(bytes.NewReader(body)), t)
	return key, err == nil && key != ""
}

// firstDuplicate reads one JSON value from dec, to be decoded into a value
// of type t (nil for any), and returns the first key an object in it names
// twice, or "".
func firstDuplicate(dec *json.Decoder, t reflect.Type) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	delim, ok := tok.(json.Delim)
	if !ok || (delim != '{' && delim != '[') {
		return "", nil
	}
	t = indirect(t)
	var fields *structFields
	if delim == '{' && t != nil && t.Kind() == reflect.Struct {
		fields = fieldsOf(t)
	}
	seen := map[string]bool{}
	for dec.More() {
		child := elem(t)
		if delim == '{' {
			tok, err := dec.Token()
			if err != nil {
				return "", err
			}
			k, _ := tok.(string)
			name := k
			if fields != nil {
				name, child = fields.match(k)
			}
			if seen[name] {
				return k, nil
			}
			seen[name] = true
		}
		if k, err := firstDuplicate(dec, child); err != nil || k != "" {
			return k, err
		}
	}
	_, err = dec.Token()
	return "", err
}

// indirect is t past its pointers; nil for an interface or a
// json.Unmarshaler, whose keys are compared exactly.
func indirect(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		if t.Implements(unmarshaler) {
			return nil
		}
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface || reflect.PointerTo(t).Implements(unmarshaler) {
		return nil
	}
	return t
}

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// elem is the type of the values of a map, slice or array of type t; nil
// otherwise.
func elem(t reflect.Type) reflect.Type {
	if t == nil {
		return nil
	}
	switch t.Kind() {
	case reflect.Map, reflect.Slice, reflect.Array:
		return t.Elem()
	}
	return nil
}

// structFields are the JSON names of a struct's fields, as encoding/json
// reads them.
type structFields struct {
	names []string
	types []reflect.Type
}

// match names the field key fills, and its type: a field named exactly
// key, else the first whose name equals it under case folding. A key no
// field takes stands for itself, folded.
func (f *structFields) match(key string) (string, reflect.Type) {
	for i, n := range f.names {
		if n == key {
			return n, f.types[i]
		}
	}
	folded := foldName(key)
	for i, n := range f.names {
		if foldName(n) == folded {
			return n, f.types[i]
		}
	}
	return "\x00" + folded, nil
}

// fieldsOf lists t's fields by their JSON names: exported fields, a tag's
// name or else the field's, "-" left out, and the fields of an untagged
// embedded struct in line.
func fieldsOf(t reflect.Type) *structFields {
	f := &structFields{}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := sf.Type
		if sf.Anonymous && name == "" {
			if et := indirect(ft); et != nil && et.Kind() == reflect.Struct {
				inner := fieldsOf(et)
				f.names = append(f.names, inner.names...)
				f.types = append(f.types, inner.types...)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f.names = append(f.names, name)
		f.types = append(f.types, ft)
	}
	return f
}

// foldName folds name as encoding/json does to match a field: each rune
// to the smallest of its case-folding orbit, so that two names fold alike
// exactly when bytes.EqualFold holds.
func foldName(name string) string {
	var b strings.Builder
	for _, r := range name {
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		b.WriteRune(r)
	}
	return b.String()
}
