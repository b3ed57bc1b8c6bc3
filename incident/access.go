package incident

import (
	"context"
	"time"
)

// WebSession is a person signed in to the web view. The cookie carries a
// random secret; only its hash is stored, as ID, so a copy of the database
// cannot sign anybody in.
type WebSession struct {
	// ID is the hex SHA-256 of the cookie's secret.
	ID string
	// UserID and TeamID are the Slack identity that signed in.
	UserID string
	TeamID string
	Name   string
	// CSRFToken must come back with every form the session submits.
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// TokenScope is what an API token may do.
type TokenScope string

// Token scopes: read lists and reads; write also declares and updates.
const (
	ScopeRead  TokenScope = "read"
	ScopeWrite TokenScope = "write"
)

// Valid reports whether s is a known scope.
func (s TokenScope) Valid() bool { return s == ScopeRead || s == ScopeWrite }

// Allows reports whether a token with scope s may do what needs want: write
// includes read.
func (s TokenScope) Allows(want TokenScope) bool {
	return s == want || (s == ScopeWrite && want == ScopeRead)
}

// APIToken is a bearer token for the HTTP API, created and revoked by an
// admin. Only the hash of the secret is stored.
type APIToken struct {
	ID   int64
	Name string
	// Hash is the hex SHA-256 of the secret; Prefix is the secret's first
	// characters, shown so people can tell tokens apart.
	Hash   string
	Prefix string
	Scope  TokenScope
	// ActAs is the Slack user the token acts for: it sees what that user
	// sees, private incidents included only where they are a member, and
	// its changes are recorded as theirs.
	ActAs      string
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// Active reports whether the token may still be used.
func (t *APIToken) Active() bool { return t.RevokedAt == nil }

// AccessStore keeps web sessions and API tokens.
type AccessStore interface {
	// CreateSession stores a session; ECONFLICT when the ID exists,
	// EINVALID when a field is missing.
	CreateSession(ctx context.Context, s *WebSession) error
	// GetSession returns the session with this ID, expired or not;
	// ENOTFOUND when there is none.
	GetSession(ctx context.Context, id string) (*WebSession, error)
	// DeleteSession removes a session; removing a missing one is not an
	// error.
	DeleteSession(ctx context.Context, id string) error
	// PurgeSessions removes the sessions that expired before the cutoff.
	PurgeSessions(ctx context.Context, before time.Time) (int64, error)

	// CreateAPIToken stores a token, assigning ID; ECONFLICT when the hash
	// exists, EINVALID when a field is missing or the scope unknown.
	CreateAPIToken(ctx context.Context, t *APIToken) error
	// GetAPITokenByHash returns the token, revoked or not; ENOTFOUND when
	// none has the hash.
	GetAPITokenByHash(ctx context.Context, hash string) (*APIToken, error)
	// ListAPITokens returns every token, newest first.
	ListAPITokens(ctx context.Context) ([]APIToken, error)
	// RevokeAPIToken marks a token revoked at the given time and returns it;
	// revoking it again keeps the first time. ENOTFOUND when unknown.
	RevokeAPIToken(ctx context.Context, id int64, at time.Time) (*APIToken, error)
	// TouchAPIToken records that the token was used at the given time.
	TouchAPIToken(ctx context.Context, id int64, at time.Time) error
}
