package ghfake

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Deployment is a deployment as the fake stores it. Statuses are oldest
// first; the API lists them newest first, as GitHub does.
type Deployment struct {
	ID          int64
	SHA         string
	Ref         string
	Task        string
	Environment string
	Description string
	Creator     string
	Payload     map[string]any
	CreatedAt   time.Time
	Statuses    []DeploymentStatus
}

// DeploymentStatus is one status of a deployment.
type DeploymentStatus struct {
	ID             int64
	State          string // error, failure, inactive, in_progress, queued, pending, success
	Description    string
	LogURL         string
	TargetURL      string
	EnvironmentURL string
	Creator        string
	CreatedAt      time.Time
}

// PullRequest is a pull request as the fake stores it.
type PullRequest struct {
	Number         int
	Title          string
	Body           string
	User           string
	Head           string // branch name
	HeadSHA        string
	Base           string // branch name
	State          string // open or closed
	MergedAt       *time.Time
	MergedBy       string
	MergeCommitSHA string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Issue is an issue as the fake stores it.
type Issue struct {
	Number int
	Title  string
	Body   string
	State  string // open or closed
	// StateReason is completed or not_planned once closed.
	StateReason string
	ClosedAt    time.Time
	Labels      []string
	Assignees   []string
	User        string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// WorkflowRun is one run of a workflow.
type WorkflowRun struct {
	ID           int64
	Workflow     string // file name, such as deploy.yml
	Name         string // the workflow's name
	DisplayTitle string
	RunNumber    int
	Event        string // push, workflow_dispatch ...
	Status       string // queued, in_progress, completed ...
	Conclusion   string // success, failure, cancelled ... once completed
	HeadBranch   string
	HeadSHA      string
	Actor        string
	Inputs       map[string]any
	// RunAttempt counts re-runs of the same run; zero reads as 1.
	RunAttempt int
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Dispatch records one accepted workflow_dispatch call.
type Dispatch struct {
	Workflow string
	Ref      string
	Inputs   map[string]any
	At       time.Time
	RunID    int64
}

// Workflow describes a workflow file in a repository.
type Workflow struct {
	ID   int64
	File string
	Name string
	// Dispatchable reports whether the workflow declares on: workflow_dispatch.
	Dispatchable bool
	// Inputs, when not nil, are the declared workflow_dispatch inputs; a
	// dispatch with any other input is rejected as GitHub does.
	Inputs []string
	// RunNameInput, when set, makes a dispatched run's display title the
	// value of that input, like `run-name: ${{ inputs.reason }}`.
	RunNameInput string
}

// WorkflowOption configures a workflow added with AddWorkflow.
type WorkflowOption func(*Workflow)

// WithWorkflowName sets the workflow's name (default: the file name).
func WithWorkflowName(name string) WorkflowOption { return func(w *Workflow) { w.Name = name } }

// WithInputs declares the workflow's workflow_dispatch inputs.
func WithInputs(names ...string) WorkflowOption {
	return func(w *Workflow) { w.Inputs = append([]string{}, names...) }
}

// WithRunNameInput makes dispatched runs take their display title from the
// named input, as a workflow with `run-name: ${{ inputs.<name> }}` does.
func WithRunNameInput(name string) WorkflowOption { return func(w *Workflow) { w.RunNameInput = name } }

type file struct {
	content string
	sha     string
}

type repoState struct {
	id            int64
	owner, name   string
	defaultBranch string
	branches      map[string]string // branch -> head sha
	commits       map[string]bool
	files         map[string]map[string]file // branch -> path -> file
	deployments   []*Deployment
	pulls         []*PullRequest
	issues        []*Issue
	nextNumber    int // issues and pull requests share numbers, as on GitHub
	workflows     map[string]*Workflow
	runs          []*WorkflowRun
	dispatches    []Dispatch
}

func (r *repoState) fullName() string { return r.owner + "/" + r.name }

func (r *repoState) number() int {
	r.nextNumber++
	return r.nextNumber
}

func (r *repoState) deployment(id int64) *Deployment {
	for _, d := range r.deployments {
		if d.ID == id {
			return d
		}
	}
	return nil
}

func (r *repoState) run(id int64) *WorkflowRun {
	for _, run := range r.runs {
		if run.ID == id {
			return run
		}
	}
	return nil
}

func (r *repoState) pull(n int) *PullRequest {
	for _, p := range r.pulls {
		if p.Number == n {
			return p
		}
	}
	return nil
}

func (r *repoState) issue(n int) *Issue {
	for _, i := range r.issues {
		if i.Number == n {
			return i
		}
	}
	return nil
}

// blobSHA is git's object id for a blob, so shas look and behave like
// GitHub's: the same content has the same sha.
func blobSHA(content string) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00%s", len(content), content)
	return hex.EncodeToString(h.Sum(nil))
}

func splitRepo(full string) (owner, name string, ok bool) {
	owner, name, ok = strings.Cut(full, "/")
	return owner, name, ok && owner != "" && name != "" && !strings.Contains(name, "/")
}

func copyDeployment(d *Deployment) Deployment {
	c := *d
	c.Payload = maps.Clone(d.Payload)
	c.Statuses = slices.Clone(d.Statuses)
	return c
}

func copyRun(r *WorkflowRun) WorkflowRun {
	c := *r
	c.Inputs = maps.Clone(r.Inputs)
	return c
}

func latestStatus(d *Deployment) (DeploymentStatus, bool) {
	if len(d.Statuses) == 0 {
		return DeploymentStatus{}, false
	}
	return d.Statuses[len(d.Statuses)-1], true
}
