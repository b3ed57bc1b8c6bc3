package gormstore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// dbTime normalises a time for storage: UTC, truncated to the microsecond
// Postgres keeps, so what is read back equals what was written on both
// dialects.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func dbTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := dbTime(*t)
	return &v
}

// nullTime stores a zero time, the domain's "none", as NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	v := dbTime(t)
	return &v
}

// zeroTime reads NULL back as the zero time.
func zeroTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return domainTime(*t)
}

// domainTime gives back times in UTC whatever zone the driver chose.
func domainTime(t time.Time) time.Time { return t.UTC() }

func domainTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// nullable stores "" as NULL, for columns under a unique rule where many rows
// may have none.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func encodeMap(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode map: %w", err)
	}
	return string(b), nil
}

// decodeMap returns nil for an empty object, matching a domain value that
// never had the map set.
func decodeMap(s string) (map[string]string, error) {
	var m map[string]string
	if s == "" {
		return nil, nil
	}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode map: %w", err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

func encodeList(l []string) (string, error) {
	if len(l) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(l)
	if err != nil {
		return "", fmt.Errorf("encode list: %w", err)
	}
	return string(b), nil
}

// decodeList returns nil for an empty array, as decodeMap does for objects.
func decodeList(s string) ([]string, error) {
	var l []string
	if s == "" {
		return nil, nil
	}
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("decode list: %w", err)
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}

// planDoc is a RollbackPlan as stored in rollbacks.plan. Its JSON names are
// fixed here, apart from the domain type, so renaming a Go field never makes
// stored plans unreadable.
type planDoc struct {
	Key         string `json:"key"`
	Kind        string `json:"kind,omitempty"`
	Source      string `json:"source,omitempty"`
	Description string `json:"description,omitempty"`
	Repo        string `json:"repo,omitempty"`
	Environment string `json:"environment,omitempty"`
	Service     string `json:"service,omitempty"`
	FromRef     string `json:"from_ref,omitempty"`
	ToRef       string `json:"to_ref,omitempty"`
	Method      string `json:"method,omitempty"`
	Workflow    string `json:"workflow,omitempty"`
	Project     string `json:"project,omitempty"`
	Flag        string `json:"flag,omitempty"`
	ChangeID    string `json:"change_id,omitempty"`
}

func encodePlan(p incident.RollbackPlan) (string, error) {
	b, err := json.Marshal(planDoc{
		Key:         p.Key,
		Kind:        string(p.Kind),
		Source:      p.Source,
		Description: p.Description,
		Repo:        p.Repo,
		Environment: p.Environment,
		Service:     p.Service,
		FromRef:     p.FromRef,
		ToRef:       p.ToRef,
		Method:      p.Method,
		Workflow:    p.Workflow,
		Project:     p.Project,
		Flag:        p.Flag,
		ChangeID:    p.ChangeID,
	})
	if err != nil {
		return "", fmt.Errorf("encode plan: %w", err)
	}
	return string(b), nil
}

func decodePlan(s string) (incident.RollbackPlan, error) {
	var d planDoc
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return incident.RollbackPlan{}, fmt.Errorf("decode plan: %w", err)
	}
	return incident.RollbackPlan{
		Key:         d.Key,
		Kind:        incident.ChangeKind(d.Kind),
		Source:      d.Source,
		Description: d.Description,
		Repo:        d.Repo,
		Environment: d.Environment,
		Service:     d.Service,
		FromRef:     d.FromRef,
		ToRef:       d.ToRef,
		Method:      d.Method,
		Workflow:    d.Workflow,
		Project:     d.Project,
		Flag:        d.Flag,
		ChangeID:    d.ChangeID,
	}, nil
}

// domainRows converts the rows one query read into domain values, naming
// op in the error of the first row that does not convert.
func domainRows[R, T any](op string, rows []R, toDomain func(*R) (T, error)) ([]T, error) {
	out := make([]T, 0, len(rows))
	for i := range rows {
		v, err := toDomain(&rows[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, v)
	}
	return out, nil
}
