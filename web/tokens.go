package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/firebreakhq/firebreak/incident"
)

// tokenAdmin is the admin pages that create, list and revoke API tokens.
type tokenAdmin struct{ *site }

func (s *tokenAdmin) serveTokens(w http.ResponseWriter, r *http.Request) {
	s.renderTokens(w, r, http.StatusOK, "", "")
}

func (s *tokenAdmin) renderTokens(w http.ResponseWriter, r *http.Request, status int, created, problem string) {
	ctx := r.Context()
	tokens, err := s.cfg.Access.ListAPITokens(ctx)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	var ids []string
	for _, t := range tokens {
		ids = append(ids, t.ActAs, t.CreatedBy)
	}
	s.render(w, r, status, "tokens", map[string]any{
		"Title": "API tokens", "Tokens": tokens, "Created": created, "Problem": problem,
		"Names": s.names.names(ctx, ids...),
	})
}

// serveCreateToken creates a token and shows its secret once; only the
// hash is kept.
func (s *tokenAdmin) serveCreateToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := viewerFrom(ctx)
	name := strings.TrimSpace(r.PostFormValue("name"))
	scope := incident.TokenScope(r.PostFormValue("scope"))
	// A token acts as the person who creates it, and nobody else: one
	// acting as another person would let an admin see and do what only that
	// person may, recorded as theirs. An act_as naming the creator is
	// accepted, so a script that sends it keeps working.
	actAs := v.UserID
	if other := strings.TrimSpace(r.PostFormValue("act_as")); other != "" && other != actAs {
		s.renderTokens(w, r, http.StatusBadRequest, "", "A token acts only as the person who creates it, so it cannot act as "+other+
			"; a token with "+other+"'s access must be created by "+other+", signed in as themselves.")
		return
	}
	// The name is said on the timeline lines the token writes: one line
	// of plain text, without control or direction-changing characters.
	if err := incident.CheckText("token name", name, false); err != nil {
		s.renderTokens(w, r, http.StatusBadRequest, "", incident.ErrorMessage(err))
		return
	}
	switch {
	case name == "" || utf8.RuneCountInString(name) > 100:
		s.renderTokens(w, r, http.StatusBadRequest, "", "Give the token a name of up to 100 characters, such as \"grafana\".")
		return
	case !scope.Valid():
		s.renderTokens(w, r, http.StatusBadRequest, "", "Choose the read or the write scope.")
		return
	}
	// A token acts for a person of this workspace: not a deactivated
	// person or a bot.
	if ok, err := s.names.active(ctx, actAs); err != nil {
		s.cfg.Logger.WarnContext(ctx, "could not check the user a new API token acts as", "user", actAs, "err", err)
		s.renderTokens(w, r, http.StatusServiceUnavailable, "", "Slack cannot say who "+actAs+" is right now; try again in a minute.")
		return
	} else if !ok {
		s.renderTokens(w, r, http.StatusBadRequest, "", actAs+" is not an active person of this Slack workspace.")
		return
	}
	secret := newToken()
	tok := &incident.APIToken{Name: name, Hash: hashSecret(secret), Prefix: secret[:len(tokenPrefix)+6], Scope: scope,
		ActAs: actAs, CreatedBy: v.UserID, CreatedAt: s.cfg.Clock.Now()}
	if err := s.cfg.Access.CreateAPIToken(ctx, tok); err != nil {
		s.pageError(w, r, err)
		return
	}
	s.cfg.Logger.InfoContext(ctx, "API token created", "token", tok.ID, "name", name, "scope", scope, "by", v.UserID)
	s.renderTokens(w, r, http.StatusCreated, secret, "")
}

func (s *tokenAdmin) serveRevokeToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		s.pageError(w, r, incident.Errorf(incident.ENOTFOUND, "There is no such token."))
		return
	}
	if _, err := s.cfg.Access.RevokeAPIToken(ctx, id, s.cfg.Clock.Now()); err != nil {
		s.pageError(w, r, err)
		return
	}
	s.cfg.Logger.InfoContext(ctx, "API token revoked", "token", id, "by", viewerFrom(ctx).UserID)
	http.Redirect(w, r, "/admin/tokens", http.StatusSeeOther)
}

// orUnknown is id, or "someone unknown" for a token that does not record
// its creator.
func orUnknown(id string) string {
	if id == "" {
		return "someone unknown"
	}
	return id
}

// tokenPrefix starts every API token, so a leaked one is recognisable by
// secret scanners.
const tokenPrefix = "fbk_"

// newToken returns a fresh API token secret.
func newToken() string { return tokenPrefix + randomString(32) }

// bearer returns the credentials of an Authorization header of the Bearer
// scheme, whose name is case-insensitive (RFC 9110, 11.1).
func bearer(h string) (string, bool) {
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(cred), true
}

// requireToken authenticates an API call by its bearer token and checks
// the token's scope.
func (s *apiV1) requireToken(want incident.TokenScope) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			h := r.Header.Get("Authorization")
			secret, ok := bearer(h)
			if !ok || !strings.HasPrefix(secret, tokenPrefix) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="firebreak"`)
				apiError(w, http.StatusUnauthorized, "unauthorized", "Send an API token as Authorization: Bearer fbk_...")
				return
			}
			tok, err := s.cfg.Access.GetAPITokenByHash(ctx, hashSecret(strings.TrimSpace(secret)))
			if incident.ErrorCode(err) == incident.ENOTFOUND || (err == nil && !tok.Active()) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="firebreak", error="invalid_token"`)
				apiError(w, http.StatusUnauthorized, "invalid_token", "The API token is unknown or revoked.")
				return
			}
			if err != nil {
				s.apiFail(w, r, err)
				return
			}
			// A token made before tokens acted only as their creator, acting
			// as someone else, no longer works: it would let its holder see
			// and do what only that person may, recorded as theirs.
			if tok.ActAs != tok.CreatedBy {
				s.cfg.Logger.WarnContext(ctx, "API token refused: it acts as someone other than its creator",
					"token", tok.ID, "token_name", tok.Name, "act_as", tok.ActAs, "created_by", tok.CreatedBy, "method", r.Method, "path", r.URL.Path)
				apiError(w, http.StatusForbidden, "token_acts_as_someone_else", fmt.Sprintf("The API token %q acts as %s, but %s created it, "+
					"and a token now acts only as the person who created it, so it no longer works. "+
					"Create a new token on the API tokens page while signed in as the person it should act as, and revoke this one.",
					tok.Name, tok.ActAs, orUnknown(tok.CreatedBy)))
				return
			}
			// A token stops working once the person it acts as is
			// deactivated (or was never a person); while Slack cannot say,
			// the check at creation stands.
			if ok, err := s.names.active(ctx, tok.ActAs); err != nil {
				s.cfg.Logger.WarnContext(ctx, "could not check the user an API token acts as", "token", tok.ID, "user", tok.ActAs, "err", err)
			} else if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="firebreak", error="invalid_token"`)
				apiError(w, http.StatusUnauthorized, "invalid_token", "The API token acts as a person who is no longer in the Slack workspace.")
				return
			}
			if !tok.Scope.Allows(want) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="firebreak", error="insufficient_scope", scope="`+string(want)+`"`)
				apiError(w, http.StatusForbidden, "insufficient_scope", "This token's scope is "+string(tok.Scope)+"; this call needs "+string(want)+".")
				return
			}
			// "Last used" to the minute is enough, and spares a busy
			// integration a database write per call.
			if now := s.cfg.Clock.Now(); tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) >= time.Minute {
				if err := s.cfg.Access.TouchAPIToken(ctx, tok.ID, now); err != nil {
					s.cfg.Logger.WarnContext(ctx, "could not record an API token's use", "token", tok.ID, "err", err)
				}
			}
			v := &viewer{UserID: tok.ActAs, Name: tok.Name, Token: tok}
			// The timeline names the token beside its person.
			ctx = incident.WithVia(ctx, "the API token “"+tok.Name+"”")
			r = r.WithContext(context.WithValue(ctx, viewerKey{}, v))
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				next.ServeHTTP(w, r)
				return
			}
			// What a token changes is recorded by the domain as its
			// person's; this line names the token too, so a change made
			// through an integration can be told from the person's own.
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			s.cfg.Logger.InfoContext(ctx, "API change", "method", r.Method, "path", r.URL.Path, "status", status,
				"user", tok.ActAs, "token", tok.ID, "token_name", tok.Name)
		})
	}
}
