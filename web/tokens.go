package web

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/firebreakhq/firebreak/incident"
)

func (s *Server) serveTokens(w http.ResponseWriter, r *http.Request) {
	s.renderTokens(w, r, http.StatusOK, "", "")
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, status int, created, problem string) {
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
func (s *Server) serveCreateToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := viewerFrom(ctx)
	name := strings.TrimSpace(r.PostFormValue("name"))
	scope := incident.TokenScope(r.PostFormValue("scope"))
	actAs := strings.TrimSpace(r.PostFormValue("act_as"))
	if actAs == "" {
		actAs = v.UserID
	}
	switch {
	case name == "" || utf8.RuneCountInString(name) > 100:
		s.renderTokens(w, r, http.StatusBadRequest, "", "Give the token a name of up to 100 characters, such as \"grafana\".")
		return
	case !scope.Valid():
		s.renderTokens(w, r, http.StatusBadRequest, "", "Choose the read or the write scope.")
		return
	case !strings.HasPrefix(actAs, "U") && !strings.HasPrefix(actAs, "W"):
		s.renderTokens(w, r, http.StatusBadRequest, "", "A token acts for a Slack user id, such as U012ABCDEF.")
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

func (s *Server) serveRevokeToken(w http.ResponseWriter, r *http.Request) {
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
