// Command k8sschema writes JSON schemas of the built-in Kubernetes kinds, in
// the layout kubeconform reads (deployment-apps-v1.json, service-v1.json,
// ...), so CI validates the Helm chart's rendered manifests offline.
//
// The field schema comes from the structured-merge-diff schema that
// k8s.io/client-go embeds for server-side apply, which is generated from the
// Kubernetes OpenAPI of that client-go release: every field and its type,
// for every built-in kind. Unknown fields are errors (the strict flavour),
// as the API server's field validation makes them. That schema does not
// carry required fields, so they are added from an OpenAPI (swagger) file
// when one is given with -required-from.
//
// Usage: go run ./cmd/k8sschema -smd internal.go [-required-from swagger.json] -out DIR
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

type typeRef struct {
	NamedType *string  `json:"namedType,omitempty"`
	Scalar    *string  `json:"scalar,omitempty"`
	List      *listDef `json:"list,omitempty"`
	Map       *mapDef  `json:"map,omitempty"`
	Untyped   any      `json:"untyped,omitempty"`
}

type typeDef struct {
	Name string `json:"name"`
	typeRef
}

type listDef struct {
	ElementType typeRef `json:"elementType"`
}

type mapDef struct {
	Fields      []field  `json:"fields,omitempty"`
	ElementType *typeRef `json:"elementType,omitempty"`
}

type field struct {
	Name string  `json:"name"`
	Type typeRef `json:"type"`
}

type smdSchema struct {
	Types []typeDef `json:"types"`
}

// special are scalar types whose JSON form the SMD schema leaves untyped.
var special = map[string]map[string]any{
	"io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": []string{"string", "integer"}},
	"io.k8s.apimachinery.pkg.api.resource.Quantity":   {"type": []string{"string", "number"}},
	"io.k8s.apimachinery.pkg.apis.meta.v1.Time":       {"type": []string{"string", "null"}, "format": "date-time"},
	"io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime":  {"type": []string{"string", "null"}, "format": "date-time"},
}

func main() {
	smdPath := flag.String("smd", "", "k8s.io/client-go/applyconfigurations/internal/internal.go")
	requiredFrom := flag.String("required-from", "", "optional Kubernetes OpenAPI v2 (swagger) file to take required fields from")
	out := flag.String("out", "", "directory to write the schemas to")
	flag.Parse()
	if *smdPath == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*smdPath, *requiredFrom, *out); err != nil {
		fmt.Fprintln(os.Stderr, "k8sschema:", err)
		os.Exit(1)
	}
}

func run(smdPath, requiredFrom, out string) error {
	src, err := os.ReadFile(smdPath)
	if err != nil {
		return err
	}
	// The schema is the one raw string literal in the file: typed.YAMLObject(`types: ...`).
	start := strings.Index(string(src), "`types:")
	if start < 0 {
		return errors.New("no `types: schema found in " + smdPath)
	}
	end := strings.Index(string(src[start+1:]), "`")
	if end < 0 {
		return errors.New("unterminated schema in " + smdPath)
	}
	var s smdSchema
	if err := yaml.Unmarshal(src[start+1:start+1+end], &s); err != nil {
		return fmt.Errorf("parse schema: %w", err)
	}
	types := make(map[string]typeDef, len(s.Types))
	for _, t := range s.Types {
		types[t.Name] = t
	}
	required := map[string][]string{}
	if requiredFrom != "" {
		b, err := os.ReadFile(requiredFrom)
		if err != nil {
			return err
		}
		var sw struct {
			Definitions map[string]struct {
				Required []string `json:"required"`
			} `json:"definitions"`
		}
		if err := json.Unmarshal(b, &sw); err != nil {
			return fmt.Errorf("parse %s: %w", requiredFrom, err)
		}
		for name, d := range sw.Definitions {
			required[name] = d.Required
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	c := &converter{types: types, required: required}
	n := 0
	for _, t := range s.Types {
		file, ok := kindFile(t)
		if !ok {
			continue
		}
		c.defs = map[string]any{}
		root := c.convertNamed(t.Name)
		schema := map[string]any{
			"$schema":     "http://json-schema.org/draft-07/schema#",
			"$ref":        root["$ref"],
			"definitions": c.defs,
		}
		b, err := json.Marshal(schema)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, file), b, 0o644); err != nil {
			return err
		}
		n++
	}
	fmt.Printf("k8sschema: wrote %d kind schemas to %s\n", n, out)
	return nil
}

// kindFile names a top-level kind's schema as kubeconform looks it up:
// {{ .ResourceKind }}{{ .KindSuffix }}.json, such as deployment-apps-v1.json,
// service-v1.json or ingress-networking-v1.json.
func kindFile(t typeDef) (string, bool) {
	const prefix = "io.k8s.api."
	if !strings.HasPrefix(t.Name, prefix) || t.Map == nil {
		return "", false
	}
	hasKind, hasAPIVersion := false, false
	for _, f := range t.Map.Fields {
		hasKind = hasKind || f.Name == "kind"
		hasAPIVersion = hasAPIVersion || f.Name == "apiVersion"
	}
	parts := strings.Split(strings.TrimPrefix(t.Name, prefix), ".")
	if !hasKind || !hasAPIVersion || len(parts) != 3 || strings.HasSuffix(parts[2], "List") {
		return "", false
	}
	group, version, kind := parts[0], parts[1], strings.ToLower(parts[2])
	if group == "core" {
		return kind + "-" + version + ".json", true
	}
	return kind + "-" + group + "-" + version + ".json", true
}

type converter struct {
	types    map[string]typeDef
	required map[string][]string
	defs     map[string]any
}

// convertNamed returns a $ref to the named type, adding its definition.
func (c *converter) convertNamed(name string) map[string]any {
	if sp, ok := special[name]; ok {
		return sp
	}
	ref := map[string]any{"$ref": "#/definitions/" + name}
	if _, done := c.defs[name]; done {
		return ref
	}
	c.defs[name] = nil // mark before recursing: types refer to themselves (JSONSchemaProps)
	t, ok := c.types[name]
	if !ok {
		c.defs[name] = map[string]any{}
		return ref
	}
	c.defs[name] = c.convert(t.typeRef, name)
	return ref
}

func (c *converter) convert(t typeRef, name string) map[string]any {
	if t.NamedType != nil {
		return c.convertNamed(*t.NamedType)
	}
	kinds := 0
	for _, set := range []bool{t.Scalar != nil, t.List != nil, t.Map != nil, t.Untyped != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return map[string]any{} // deduced or atomic: any JSON value
	}
	switch {
	case t.Scalar != nil:
		switch *t.Scalar {
		case "string":
			return map[string]any{"type": []string{"string", "null"}}
		case "numeric":
			return map[string]any{"type": []string{"number", "null"}}
		case "boolean":
			return map[string]any{"type": []string{"boolean", "null"}}
		}
		return map[string]any{}
	case t.List != nil:
		return map[string]any{"type": []string{"array", "null"}, "items": c.convert(t.List.ElementType, "")}
	case t.Map != nil:
		m := map[string]any{"type": []string{"object", "null"}}
		if len(t.Map.Fields) > 0 {
			props := map[string]any{}
			names := map[string]bool{}
			for _, f := range t.Map.Fields {
				props[f.Name] = c.convert(f.Type, "")
				names[f.Name] = true
			}
			m["properties"] = props
			if t.Map.ElementType == nil {
				m["additionalProperties"] = false
			}
			var req []string
			for _, r := range c.required[name] {
				if names[r] {
					req = append(req, r)
				}
			}
			if len(req) > 0 {
				sort.Strings(req)
				m["required"] = req
			}
		}
		if t.Map.ElementType != nil {
			m["additionalProperties"] = c.convert(*t.Map.ElementType, "")
		}
		return m
	}
	return map[string]any{}
}
