package incidenttest

import (
	"context"

	"github.com/firebreakhq/firebreak/incident"
)

// memExports records where postmortems were exported.
type memExports struct{ *memShared }

type exportKey struct {
	incidentID int64
	target     string
}

// SaveExport implements incident.Store. Target is required (EINVALID).
func (m *memExports) SaveExport(_ context.Context, incidentID int64, ref incident.ExportRef) error {
	const op = "save export"
	if ref.Target == "" {
		return errorf(op, incident.EINVALID, "An export needs a target.")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.incidentByID(incidentID) == nil {
		return errorf(op, incident.ENOTFOUND, "Incident %d was not found.", incidentID)
	}
	m.exports[exportKey{incidentID, ref.Target}] = ref
	return nil
}

// GetExport implements incident.Store.
func (m *memExports) GetExport(_ context.Context, incidentID int64, target string) (*incident.ExportRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ref, ok := m.exports[exportKey{incidentID, target}]
	if !ok {
		return nil, errorf("get export", incident.ENOTFOUND, "The postmortem was never exported to %s.", target)
	}
	return &ref, nil
}
