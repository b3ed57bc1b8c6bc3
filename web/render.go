package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

var funcs = template.FuncMap{
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if v == nil {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04 UTC")
		}
		return "—"
	},
	"day": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return t.UTC().Format("2006-01-02")
	},
	"clock": func(t time.Time) string { return t.UTC().Format("15:04:05") },
	"dur":   humanDuration,
	"since": func(from time.Time, to *time.Time) string {
		if to == nil {
			return "—"
		}
		return humanDuration(to.Sub(from))
	},
	"pct": func(share float64) string {
		if share < 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.0f%%", share*100)
	},
	"sevclass": func(s incident.Severity) string { return "sev-" + strings.ToLower(s.String()) },
	"lower":    strings.ToLower,
	"isodate":  func(t time.Time) string { return t.Format("2006-01-02") },
}

// humanDuration prints a duration the way people say it: 45s, 12m, 3h 20m,
// 2d 4h.
func humanDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		h := int(d.Hours())
		m := int(d.Minutes()) - h*60
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh %dm", h, m)
	default:
		days := int(d.Hours()) / 24
		h := int(d.Hours()) - days*24
		if h == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd %dh", days, h)
	}
}

// parseTemplates parses each page together with the layout, at start.
func parseTemplates() (map[string]*template.Template, error) {
	pages, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, p := range pages {
		name := strings.TrimSuffix(path.Base(p), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", p)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", p, err)
		}
		out[name] = t
	}
	return out, nil
}

// render executes a page into a buffer first, so a template error becomes
// a clean 500 rather than half a page.
func (s *site) render(w http.ResponseWriter, r *http.Request, status int, page string, data map[string]any) {
	t, ok := s.tmpl[page]
	if !ok {
		s.cfg.Logger.ErrorContext(r.Context(), "no such page template", "page", page)
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	if data == nil {
		data = map[string]any{}
	}
	data["Viewer"] = viewerFrom(r.Context())
	if v := viewerFrom(r.Context()); v != nil && v.Session != nil {
		data["CSRF"] = v.Session.CSRFToken
	}
	data["Path"] = r.URL.Path
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		s.cfg.Logger.ErrorContext(r.Context(), "render page", "page", page, "err", err)
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageError is the one place a page's error becomes a response: the domain
// kind picks the status, the message is the user-safe one, and unknown
// errors are logged once.
func (s *site) pageError(w http.ResponseWriter, r *http.Request, err error) {
	err = s.outOfTime(r, err)
	status := httpStatus(err)
	msg := incident.ErrorMessage(err)
	if status == http.StatusInternalServerError {
		s.cfg.Logger.ErrorContext(r.Context(), "web request failed", "path", r.URL.Path, "err", err)
		msg = "Something went wrong on our side; it has been logged."
	}
	if _, ok := s.tmpl["error"]; !ok {
		http.Error(w, msg, status)
		return
	}
	s.render(w, r, status, "error", map[string]any{"Status": status, "Message": msg})
}

// outOfTime is what a request that ran out of time (bounded) tells the
// person: EUNAVAILABLE, as the database or Slack did not answer in time,
// rather than an internal error. Any other error is returned as it is.
func (s *site) outOfTime(r *http.Request, err error) error {
	if incident.ErrorCode(err) != incident.EINTERNAL ||
		!errors.Is(err, context.DeadlineExceeded) && !errors.Is(r.Context().Err(), context.DeadlineExceeded) {
		return err
	}
	s.cfg.Logger.WarnContext(r.Context(), "request ran out of time", "path", r.URL.Path, "err", err)
	return incident.Errorf(incident.EUNAVAILABLE, "The database or Slack did not answer in time; try again in a minute.")
}

func httpStatus(err error) int {
	switch incident.ErrorCode(err) {
	case incident.EINVALID:
		return http.StatusBadRequest
	case incident.ENOTFOUND:
		return http.StatusNotFound
	case incident.ECONFLICT:
		return http.StatusConflict
	case incident.EFORBIDDEN:
		return http.StatusForbidden
	case incident.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
