package github_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

const (
	repo  = "acme/checkout"
	token = "ghp_secret_test_token"
)

// Commits named by one repeated hex digit, so failures read well.
var (
	shaHead = sha("a")
	sha1    = sha("1")
	sha2    = sha("2")
	sha3    = sha("3")
	sha4    = sha("4")
)

func sha(digit string) string { return strings.Repeat(digit, 40) }

// now is the tests' present; windows end here.
var now = time.Date(2026, time.March, 2, 12, 0, 0, 0, time.UTC)

func at(hour, minute int) time.Time {
	return time.Date(2026, time.March, 2, hour, minute, 0, 0, time.UTC)
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type bundle struct {
	fake   *ghfake.Server
	client *github.Client
	clock  *testClock
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// setup starts a fake GitHub holding acme/checkout (default branch main at
// shaHead) and a client for it; opts adjust the client's Config.
func setup(t *testing.T, opts ...func(*github.Config)) bundle {
	t.Helper()
	return setupFake(t, nil, opts...)
}

// setupFake is setup with options for the fake too.
func setupFake(t *testing.T, fakeOpts []ghfake.Option, opts ...func(*github.Config)) bundle {
	t.Helper()
	clock := &testClock{t: now}
	fake := ghfake.New(append([]ghfake.Option{ghfake.WithToken(token), ghfake.WithClock(clock.Now)}, fakeOpts...)...)
	t.Cleanup(fake.Close)
	fake.AddRepo(repo, "main", shaHead)
	logs := &syncBuffer{}
	cfg := github.Config{
		APIURL: fake.URL(),
		Token:  token,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Clock:  clock,
	}
	for _, o := range opts {
		o(&cfg)
	}
	client, err := github.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NotContains(t, logs.String(), token, "the token must never be logged") })
	return bundle{fake: fake, client: client, clock: clock, logs: logs}
}

func success(at time.Time, logURL string) ghfake.DeploymentStatus {
	return ghfake.DeploymentStatus{State: "success", CreatedAt: at, LogURL: logURL}
}

// seedProduction adds production deployments of sha1 (08:00, success),
// sha2 (10:30, success), sha4 (11:00, failure) and sha3 (11:30, success),
// and a staging deployment of sha3 at 11:10. It returns the ids in that
// order: sha1, sha2, sha4, sha3, staging.
func seedProduction(f *ghfake.Server) []int64 {
	return []int64{
		f.AddDeployment(repo, ghfake.Deployment{SHA: sha1, Ref: "main", Environment: "production", Creator: "ada", CreatedAt: at(8, 0),
			Statuses: []ghfake.DeploymentStatus{success(at(8, 5), "")}}),
		f.AddDeployment(repo, ghfake.Deployment{SHA: sha2, Ref: "main", Environment: "production", Creator: "ada", CreatedAt: at(10, 30),
			Statuses: []ghfake.DeploymentStatus{{State: "in_progress", CreatedAt: at(10, 31)}, {State: "success", CreatedAt: at(10, 35)}}}),
		f.AddDeployment(repo, ghfake.Deployment{SHA: sha4, Ref: "main", Environment: "production", Creator: "bob", CreatedAt: at(11, 0),
			Statuses: []ghfake.DeploymentStatus{{State: "failure", CreatedAt: at(11, 2)}}}),
		f.AddDeployment(repo, ghfake.Deployment{SHA: sha3, Ref: "main", Environment: "production", Creator: "grace", CreatedAt: at(11, 30),
			Statuses: []ghfake.DeploymentStatus{success(at(11, 33), "https://ci.example.com/runs/77")}}),
		f.AddDeployment(repo, ghfake.Deployment{SHA: sha3, Ref: "main", Environment: "staging", Creator: "grace", CreatedAt: at(11, 10),
			Statuses: []ghfake.DeploymentStatus{success(at(11, 12), "")}}),
	}
}

func checkoutService() incident.ServicePolicy {
	return incident.ServicePolicy{
		Key: "checkout",
		GitHub: incident.GitHubService{
			Repos:          []string{repo},
			Environments:   []string{"production"},
			DeployWorkflow: "deploy.yml",
		},
	}
}

func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, incident.ErrorCode(err), "error: %v", err)
	require.NotContains(t, err.Error(), token)
}
