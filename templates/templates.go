// Package templates holds the text the bot writes that a team may want to
// word its own way: comms drafts, the postmortem in Markdown and in
// Confluence storage format. Every template is parsed at start, so a broken
// one stops the program with its file and line instead of failing during an
// incident.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
	"time"
)

//go:embed *.tmpl
var embedded embed.FS

// Set is the parsed templates: the embedded ones, each replaced by a file of
// the same name in the override directory when there is one.
type Set struct {
	byName map[string]*template.Template
}

// Funcs are available in every template.
var Funcs = template.FuncMap{
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
	"join":  strings.Join,
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "unknown"
		}
		return t.UTC().Format("15:04 UTC")
	},
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return "unknown"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"date": func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"duration": func(d time.Duration) string {
		if d <= 0 {
			return "n/a"
		}
		d = d.Round(time.Second)
		h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
		switch {
		case h > 0:
			return fmt.Sprintf("%dh %02dm", h, m)
		case m > 0:
			return fmt.Sprintf("%dm %02ds", m, s)
		default:
			return fmt.Sprintf("%ds", s)
		}
	},
	"indent": func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
	},
}

// Load parses the embedded templates and, when dir is not empty, the *.tmpl
// files in dir, which replace embedded ones of the same name. An override
// with an unknown name is an error, since a typo would otherwise be ignored.
func Load(dir string) (*Set, error) {
	s := &Set{byName: map[string]*template.Template{}}
	names, err := fs.Glob(embedded, "*.tmpl")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		b, err := embedded.ReadFile(name)
		if err != nil {
			return nil, err
		}
		t, err := template.New(name).Funcs(Funcs).Option("missingkey=error").Parse(string(b))
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		s.byName[name] = t
	}
	if dir == "" {
		return s, nil
	}
	overrides, err := filepath.Glob(filepath.Join(dir, "*.tmpl"))
	if err != nil {
		return nil, fmt.Errorf("TEMPLATES_DIR %s: %w", dir, err)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("TEMPLATES_DIR: %w", err)
	}
	for _, path := range overrides {
		name := filepath.Base(path)
		if _, ok := s.byName[name]; !ok {
			return nil, fmt.Errorf("TEMPLATES_DIR: %s overrides no template; known templates: %s", path, strings.Join(s.Names(), ", "))
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("TEMPLATES_DIR: %w", err)
		}
		// Parsing under the file's path makes errors read "path:line: ...".
		t, err := template.New(path).Funcs(Funcs).Option("missingkey=error").Parse(string(b))
		if err != nil {
			return nil, fmt.Errorf("TEMPLATES_DIR: %w", err)
		}
		s.byName[name] = t
	}
	return s, nil
}

// Names lists the templates, sorted.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.byName))
	for n := range s.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Render executes the named template with data.
func (s *Set) Render(name string, data any) (string, error) {
	t, ok := s.byName[name]
	if !ok {
		return "", fmt.Errorf("templates: no template %q", name)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("templates: render %s: %w", name, err)
	}
	return b.String(), nil
}
