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
	// Transient marks a transient environment (transient_environment),
	// which a success elsewhere never marks inactive.
	Transient bool
	CreatedAt time.Time
	Statuses  []DeploymentStatus
}

// production reports whether the deployment is to a production
// environment, as the fake decides production_environment.
func (d *Deployment) production() bool { return d.Environment == "production" }

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
	// AutoInactive is auto_inactive when the status is added with
	// AddDeploymentStatus: nil is GitHub's default, true.
	AutoInactive *bool
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
	// StateReason is completed, not_planned or duplicate once closed
	// ("" when closed by a GitHub without close reasons).
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
	// ReturnedRunDetails reports whether the call asked for the run's
	// details (return_run_details) and got them: 200 rather than 204.
	ReturnedRunDetails bool
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
	archived      bool
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
	// assignable, when not nil, are the lower-cased logins that may be
	// assigned to issues (SetAssignable).
	assignable map[string]bool
	// issuesOff is Issues turned off in the settings (DisableIssues).
	issuesOff bool
	// deletedIssues are the numbers of issues deleted (DeleteIssue).
	deletedIssues map[int]bool
	// customProperties are the organization's custom properties set on
	// the repository (SetCustomProperties), nil when none are.
	customProperties map[string]any
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

// autoInactivate does what GitHub does when deployment d gets a success
// status with auto_inactive (the default): every earlier deployment to the
// same environment whose latest state is success gets an inactive status,
// unless the environment is a production or transient one ("Adds a new
// inactive status to all prior non-transient, non-production environment
// deployments with the same repository and environment name ... An inactive
// status is only added to deployments that had a success state"). newID
// numbers the statuses it adds. The caller holds the lock.
func autoInactivate(r *repoState, d *Deployment, at time.Time, creator string, newID func() int64) {
	if d.production() || d.Transient {
		return
	}
	for _, o := range r.deployments {
		prior := o.CreatedAt.Before(d.CreatedAt) || (o.CreatedAt.Equal(d.CreatedAt) && o.ID < d.ID)
		if o == d || !prior || o.Environment != d.Environment || o.Transient || o.production() {
			continue
		}
		if st, ok := latestStatus(o); ok && st.State == "success" {
			o.Statuses = append(o.Statuses, DeploymentStatus{ID: newID(), State: "inactive", Creator: creator, CreatedAt: at})
		}
	}
}
