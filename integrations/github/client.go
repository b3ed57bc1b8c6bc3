// Package github connects incidents to GitHub: it lists recent deploys,
// merged pull requests and deploy workflow runs (incident.ChangeSource),
// rolls a deploy back by dispatching the deploy workflow or by creating a
// deployment of the previous commit (incident.Rollbacker), exports
// postmortems as a pull request or an issue (incident.Exporter), and turns
// deployment, deployment_status and workflow_run webhooks into change
// events.
//
// It uses go-github over the *http.Client it is given, which in production
// comes from the outbound package, so retries, timeouts and the circuit
// breaker are applied there, not here.
package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// Source is the ChangeEvent.Source and RollbackPlan.Source of everything
// this package reports.
const Source = incident.ProviderGitHub

// Export modes.
const (
	ExportPullRequest = "pr"
	ExportIssue       = "issue"
)

// Config configures a Client.
type Config struct {
	// APIURL is the REST API base: https://api.github.com/ (the default), a
	// GitHub Enterprise Server https://host/api/v3/, or a fake's URL.
	APIURL string
	// Token is a personal access token or an installation token.
	Token      string
	HTTPClient *http.Client
	Logger     *slog.Logger
	Clock      incident.Clock
	// ExportRepo is the owner/name repository postmortems go to.
	ExportRepo string
	// ExportMode is "pr" (the default) or "issue".
	ExportMode string
	// ActionItemIssues opens an issue in ExportRepo for each action item
	// that has no tracker link yet.
	ActionItemIssues bool
}

// Client talks to GitHub for one installation of the bot. It is the
// package's three providers in one value: the change source, the deploy
// rollbacker and the postmortem exporter, each kept in its own type over
// one shared API connection.
type Client struct {
	changes   *changeLister
	rollbacks *deployRollbacker
	export    *postmortemExporter
}

// api is the go-github client with what every feature needs of it: the
// clock, the logger, and the translation of GitHub's errors into the
// domain's kinds.
type api struct {
	gh    *gh.Client
	log   *slog.Logger
	clock incident.Clock

	// selfMu guards self, the login the token acts as, once learnt.
	selfMu sync.Mutex
	self   string
}

var (
	_ incident.ChangeSource        = (*Client)(nil)
	_ incident.CuttingChangeSource = (*Client)(nil)
	_ incident.Rollbacker          = (*Client)(nil)
	_ incident.Exporter            = (*Client)(nil)
)

// New returns a Client. It fails on a missing token, a malformed API URL,
// export repository or export mode.
func New(cfg Config) (*Client, error) {
	if cfg.Token == "" {
		return nil, errors.New("github: a token is required")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = "https://api.github.com/"
	}
	base, err := url.Parse(cfg.APIURL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("github: API URL %q is not an absolute URL", cfg.APIURL)
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	if cfg.ExportRepo != "" {
		if _, _, err := splitRepo(cfg.ExportRepo); err != nil {
			return nil, fmt.Errorf("github: export repository: %w", err)
		}
	}
	switch cfg.ExportMode {
	case "":
		cfg.ExportMode = ExportPullRequest
	case ExportPullRequest, ExportIssue:
	default:
		return nil, fmt.Errorf("github: export mode %q is not pr or issue", cfg.ExportMode)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = incident.SystemClock
	}
	client := gh.NewClient(withCustomPropertiesFilter(cfg.HTTPClient)).WithAuthToken(cfg.Token)
	// Setting the URLs directly, as go-github's own tests do, avoids
	// WithEnterpriseURLs appending api/v3/ to a URL that already has it or
	// to a fake's URL.
	client.BaseURL = base
	client.UploadURL = base
	a := &api{gh: client, log: cfg.Logger, clock: cfg.Clock}
	return &Client{
		changes:   &changeLister{a},
		rollbacks: &deployRollbacker{a},
		export: &postmortemExporter{api: a,
			exportRepo: cfg.ExportRepo, exportMode: cfg.ExportMode, actionItemIssues: cfg.ActionItemIssues},
	}, nil
}

// Name names the source in the changes list and the exporter in menus.
func (c *Client) Name() string { return "GitHub" }

// Changes lists the service's deploys, merged pull requests and deploy
// workflow runs in [from, to]; see changeLister.Changes.
func (c *Client) Changes(ctx context.Context, svc incident.ServicePolicy, from, to time.Time) ([]incident.ChangeEvent, error) {
	return c.changes.Changes(ctx, svc, from, to)
}

// ChangesCut is Changes, with the lists GitHub was read only the newest
// of; see changeLister.ChangesCut.
func (c *Client) ChangesCut(ctx context.Context, svc incident.ServicePolicy, from, to time.Time) ([]incident.ChangeEvent, []incident.SourceCut, error) {
	return c.changes.ChangesCut(ctx, svc, from, to)
}

// Handles reports whether the change is a deploy GitHub can roll back; see
// deployRollbacker.Handles.
func (c *Client) Handles(ch incident.ChangeEvent) bool { return c.rollbacks.Handles(ch) }

// Plan plans the redeploy of the last good commit; see deployRollbacker.Plan.
func (c *Client) Plan(ctx context.Context, ch incident.ChangeEvent, svc incident.ServicePolicy) (incident.RollbackPlan, error) {
	return c.rollbacks.Plan(ctx, ch, svc)
}

// Execute dispatches the deploy workflow or creates the deployment; see
// deployRollbacker.Execute.
func (c *Client) Execute(ctx context.Context, plan incident.RollbackPlan, actor string) (incident.RollbackRun, error) {
	return c.rollbacks.Execute(ctx, plan, actor)
}

// Progress follows an executed rollback; see deployRollbacker.Progress.
func (c *Client) Progress(ctx context.Context, run incident.RollbackRun) (incident.RollbackRun, error) {
	return c.rollbacks.Progress(ctx, run)
}

// Export publishes a postmortem as a pull request or an issue; see
// postmortemExporter.Export.
func (c *Client) Export(ctx context.Context, doc incident.PostmortemDoc, prev *incident.ExportRef) (incident.ExportRef, error) {
	return c.export.Export(ctx, doc, prev)
}

func (c *api) now() time.Time { return c.clock.Now().UTC() }

// selfLogin returns the login the bot's token acts as, which is the author
// of everything the bot opens: the user of a personal access token (GET
// /user), or "<app slug>[bot]" for a GitHub App installation. GitHub
// refuses GET /user to an installation token (403), and GET /app takes the
// app's JWT, which the bot does not hold, so an installation is asked
// through GraphQL's viewer, which answers with the bot user. It is learnt
// once; a failure is not remembered.
func (c *api) selfLogin(ctx context.Context) (string, error) {
	c.selfMu.Lock()
	defer c.selfMu.Unlock()
	if c.self != "" {
		return c.self, nil
	}
	u, _, err := c.gh.Users.Get(ctx, "")
	switch {
	case err == nil && u.GetLogin() != "":
		c.self = u.GetLogin()
		return c.self, nil
	case err == nil:
		err = errors.New("GitHub named no login for the token")
	case isStatus(err, http.StatusForbidden):
		var login string
		if login, err = c.viewerLogin(ctx); err == nil {
			c.self = login
			return c.self, nil
		}
	}
	return "", c.wrap(err, "read the authenticated user", repoRef{})
}

// viewerLogin asks GitHub's GraphQL API who the token is: POST /graphql on
// github.com, /api/graphql on GitHub Enterprise Server (whose REST base is
// /api/v3/).
func (c *api) viewerLogin(ctx context.Context) (string, error) {
	endpoint := *c.gh.BaseURL
	if p, ok := strings.CutSuffix(endpoint.Path, "/v3/"); ok {
		endpoint.Path = p + "/graphql"
	} else {
		endpoint.Path = strings.TrimSuffix(endpoint.Path, "/") + "/graphql"
	}
	req, err := c.gh.NewRequest(http.MethodPost, endpoint.String(), map[string]string{"query": "query { viewer { login } }"})
	if err != nil {
		return "", err
	}
	var out struct {
		Data struct {
			Viewer struct {
				Login string `json:"login"`
			} `json:"viewer"`
		} `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if _, err := c.gh.Do(ctx, req, &out); err != nil {
		return "", err
	}
	if out.Data.Viewer.Login == "" {
		msg := "no login"
		if len(out.Errors) > 0 {
			msg = out.Errors[0].Message
		}
		return "", fmt.Errorf("GitHub's viewer query answered %s", msg)
	}
	return out.Data.Viewer.Login, nil
}

// ownsIssue reports whether an issue in repo (owner/name) opened by author
// is one the bot could have opened: repo is the export repository, where
// the bot opens action item issues, and author the login its token acts
// as. False without an export repository.
func (c *Client) ownsIssue(ctx context.Context, repo, author string) (bool, error) {
	if c.export.exportRepo == "" || author == "" || !strings.EqualFold(repo, c.export.exportRepo) {
		return false, nil
	}
	login, err := c.export.selfLogin(ctx)
	if err != nil {
		return false, err
	}
	return strings.EqualFold(author, login), nil
}

type repoRef struct{ owner, name string }

func (r repoRef) String() string { return r.owner + "/" + r.name }

func splitRepo(full string) (repoRef, string, error) {
	owner, name, ok := strings.Cut(strings.TrimSpace(full), "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return repoRef{}, "", fmt.Errorf("%q is not owner/name", full)
	}
	return repoRef{owner, name}, owner + "/" + name, nil
}

func parseRepo(full string) (repoRef, error) {
	r, _, err := splitRepo(full)
	if err != nil {
		return repoRef{}, incident.Errorf(incident.EINVALID, "The GitHub repository %q is not written as owner/name.", full)
	}
	return r, nil
}

// apiError carries a domain error kind and the SDK's error together, so
// callers find both with errors.As: the transport its user-safe sentence,
// the job engine a rate-limit wait.
type apiError struct {
	op    string
	kind  *incident.Error
	cause error
}

func (e *apiError) Error() string {
	return fmt.Sprintf("github: %s: %v", e.op, e.cause)
}

func (e *apiError) Unwrap() []error { return []error{e.kind, e.cause} }

// wrap translates an error from go-github into the domain's kinds. op is
// short lower-case context ("list deployments"); repo names the repository
// in a not-found message.
func (c *api) wrap(err error, op string, repo repoRef) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("github: %s: %w", op, err)
	}
	// The outbound client's errors already carry a user-safe kind.
	var rl *outbound.RateLimitedError
	var un *outbound.UnavailableError
	if errors.As(err, &rl) || errors.As(err, &un) {
		return fmt.Errorf("github: %s: %w", op, err)
	}
	if wait, ok := rateLimitWait(err, c.now()); ok {
		return fmt.Errorf("github: %s: %w", op, &outbound.RateLimitedError{Provider: "github", Name: "GitHub", Wait: wait, Cause: err})
	}
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return c.statusError(err, er, op, repo)
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &apiError{op, incident.Errorf(incident.EUNAVAILABLE, "GitHub is not responding (timed out)."), err}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &apiError{op, incident.Errorf(incident.EUNAVAILABLE, "GitHub is not responding (connection failed)."), err}
	}
	return fmt.Errorf("github: %s: %w", op, err)
}

// statusError translates GitHub's error answer er (to the call that failed
// with err) by its HTTP status.
func (c *api) statusError(err error, er *gh.ErrorResponse, op string, repo repoRef) error {
	status := er.Response.StatusCode
	switch {
	case status >= 500:
		return &apiError{op, incident.Errorf(incident.EUNAVAILABLE, "GitHub is not responding (HTTP %d).", status), err}
	case status == http.StatusNotFound:
		return &apiError{op, incident.Errorf(incident.ENOTFOUND, "%s", notFound(op, repo)), err}
	case status == http.StatusUnauthorized:
		return &apiError{op, incident.Errorf(incident.EFORBIDDEN, "GitHub rejected the bot's token (%s); ask an admin to renew it.", er.Message), err}
	case status == http.StatusForbidden:
		msg := fmt.Sprintf("GitHub refused to %s in %s: %s", op, repo, githubMessage(er))
		if perm := permissionFor(op); perm != "" && strings.Contains(er.Message, "Resource not accessible by") {
			msg += fmt.Sprintf(" The bot's GitHub token needs the %s permission on %s.", perm, repo)
		}
		return &apiError{op, incident.Errorf(incident.EFORBIDDEN, "%s", msg), err}
	case status == http.StatusUnprocessableEntity || status == http.StatusConflict:
		return &apiError{op, incident.Errorf(incident.EINVALID, "GitHub refused to %s in %s: %s", op, repo, githubMessage(er)), err}
	}
	return &apiError{op, incident.Errorf(incident.EINTERNAL, "GitHub answered HTTP %d to %s in %s.", status, op, repo), err}
}

// notFound says what GitHub could not find. GitHub answers 404 both for
// what does not exist and for what the token may not see, so say both.
func notFound(op string, repo repoRef) string {
	thing := ""
	switch {
	case strings.Contains(op, "workflow"):
		thing = "the workflow"
	case strings.Contains(op, "deployment"):
		thing = "the deployment"
	case strings.Contains(op, "issue"):
		thing = "the issue"
	case strings.Contains(op, "pull request"):
		thing = "the pull request"
	case strings.Contains(op, "branch"):
		thing = "the branch"
	}
	if thing == "" {
		return fmt.Sprintf("GitHub has no repository %s, or the bot's token cannot see it.", repo)
	}
	return fmt.Sprintf("GitHub could not find %s in %s, or the bot's token cannot see the repository.", thing, repo)
}

// permissionFor names the fine-grained permission a call needs, by its
// op: GitHub's "Resource not accessible by integration" (or "by personal
// access token") names none. "" when the op says too little.
func permissionFor(op string) string {
	level := "write"
	if strings.HasPrefix(op, "list ") || strings.HasPrefix(op, "read ") {
		level = "read"
	}
	switch {
	case strings.Contains(op, "workflow"):
		return "Actions: " + level
	case strings.Contains(op, "deployment"):
		return "Deployments: " + level
	case strings.Contains(op, "issue"):
		return "Issues: " + level
	case strings.Contains(op, "pull request"):
		return "Pull requests: " + level
	case strings.Contains(op, "branch"), strings.HasPrefix(op, "write "), strings.HasPrefix(op, "update "):
		return "Contents: " + level
	}
	return ""
}

// githubMessage renders GitHub's explanation: the field errors' messages
// when there are some, else the top-level message.
func githubMessage(er *gh.ErrorResponse) string {
	var parts []string
	for _, e := range er.Errors {
		switch {
		case e.Message != "":
			parts = append(parts, e.Message)
		case e.Field != "":
			parts = append(parts, fmt.Sprintf("%s is %s", e.Field, strings.ReplaceAll(e.Code, "_", " ")))
		}
	}
	msg := strings.Join(parts, "; ")
	if msg == "" {
		msg = strings.Join(strings.Fields(er.Message), " ")
	}
	if msg == "" {
		msg = http.StatusText(er.Response.StatusCode)
	}
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// repoInfo is what the integration needs to know about a repository.
type repoInfo struct {
	ref           repoRef
	defaultBranch string
	htmlURL       string
	// archived repositories refuse every write.
	archived bool
}

func (c *api) repo(ctx context.Context, r repoRef) (repoInfo, error) {
	repo, _, err := c.gh.Repositories.Get(ctx, r.owner, r.name)
	if err != nil {
		return repoInfo{}, c.wrap(err, "read the repository", r)
	}
	if repo.GetDefaultBranch() == "" {
		return repoInfo{}, fmt.Errorf("github: repository %s has no default branch", r)
	}
	return repoInfo{ref: r, defaultBranch: repo.GetDefaultBranch(), htmlURL: repo.GetHTMLURL(), archived: repo.GetArchived()}, nil
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
