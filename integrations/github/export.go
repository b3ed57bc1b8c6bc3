package github

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	gh "github.com/google/go-github/v60/github"

	"github.com/firebreakhq/firebreak/incident"
)

const (
	// maxBodyLen is GitHub's limit on an issue or pull request body, in
	// characters.
	maxBodyLen = 65536
	// maxTitleLen keeps titles within what GitHub shows.
	maxTitleLen = 256
	// postmortemLabel marks exported postmortem issues.
	postmortemLabel = "postmortem"
	// followUpLabel marks issues opened for action items. The bot finds
	// them again by their marker, not by the label, which GitHub drops
	// for a token without push access.
	followUpLabel = "incident-follow-up"
)

// postmortemExporter publishes postmortems to one repository, as a pull
// request or an issue, and opens issues for action items.
type postmortemExporter struct {
	*api
	exportRepo       string // owner/name
	exportMode       string // ExportPullRequest or ExportIssue
	actionItemIssues bool
}

// Export publishes the postmortem to ExportRepo. In "pr" mode it commits
// postmortems/<YYYY-MM-DD>-<slug>.md to the branch
// postmortem/<incident key> (created from the default branch head) and
// opens a pull request; a re-export updates the same file and reuses the
// open pull request. In "issue" mode it opens an issue labelled
// "postmortem", and a re-export edits it. With ActionItemIssues it also
// opens one issue per action item that has no tracker link and is not
// done, at most once per item. EINVALID when no repository is configured.
// When the postmortem was published but an action item's issue could not
// be opened, the postmortem's ref is returned with the error.
func (c *postmortemExporter) Export(ctx context.Context, doc incident.PostmortemDoc, prev *incident.ExportRef) (incident.ExportRef, error) {
	return c.ExportRecorded(ctx, doc, prev, nil)
}

// ExportRecorded is Export, calling record before each write over what an
// earlier export made (the file on the branch, the issue body) with prev,
// its Pending naming what is about to be written (the file's blob sha, the
// body's bodyDigest) and its Digest what is there now when that is the
// bot's own. A re-export then takes either for the bot's: a write GitHub
// carried out but whose answer was lost (a 502 to the PATCH or the PUT, a
// failed call after it, the process stopped before its record) is not
// taken for a person's edit on the retry, which compiles the draft anew.
// A nil record records nothing, and so does a first export (prev nil),
// whose retry finds what it made by the marker or on its own branch.
func (c *Client) ExportRecorded(ctx context.Context, doc incident.PostmortemDoc, prev *incident.ExportRef, record func(context.Context, incident.ExportRef) error) (incident.ExportRef, error) {
	return c.export.ExportRecorded(ctx, doc, prev, record)
}

// ExportRecorded is Client.ExportRecorded.
func (c *postmortemExporter) ExportRecorded(ctx context.Context, doc incident.PostmortemDoc, prev *incident.ExportRef, record func(context.Context, incident.ExportRef) error) (incident.ExportRef, error) {
	if c.exportRepo == "" {
		return incident.ExportRef{}, incident.Errorf(incident.EINVALID, "No GitHub repository is set for postmortems; set the export repository in the bot's configuration.")
	}
	if doc.IncidentKey == "" {
		return incident.ExportRef{}, incident.Errorf(incident.EINVALID, "The postmortem has no incident key.")
	}
	r, err := parseRepo(c.exportRepo)
	if err != nil {
		return incident.ExportRef{}, err
	}
	info, err := c.repo(ctx, r)
	if err != nil {
		return incident.ExportRef{}, err
	}
	if info.archived {
		// GitHub refuses every write to it: say so before the first.
		return incident.ExportRef{}, incident.Errorf(incident.EFORBIDDEN,
			"%s is archived on GitHub, so it takes no new postmortems; unarchive it or set another export repository.", r)
	}
	if prev != nil && prev.Target != Source {
		prev = nil // exported elsewhere before: nothing here to update
	}
	// The draft quotes the channel: it goes out mentioning nobody, as
	// committed, compared and posted alike.
	doc.Markdown = unmentionMarkdown(doc.Markdown)
	var ref incident.ExportRef
	w := writer{prev: prev, record: record}
	if c.exportMode == ExportIssue {
		ref, err = c.exportIssue(ctx, info, doc, w)
	} else {
		ref, err = c.exportPR(ctx, info, doc, w)
	}
	if err != nil {
		return incident.ExportRef{}, err
	}
	ref.Target = Source
	ref.Version = 1
	if prev != nil {
		ref.Version = prev.Version + 1
	}
	if c.actionItemIssues {
		if err := c.exportActionItems(ctx, info, doc); err != nil {
			// The postmortem is out: its ref goes back with the error,
			// so it is recorded and its link said.
			return ref, err
		}
	}
	return ref, nil
}

func postmortemTitle(doc incident.PostmortemDoc) string {
	return fitUnmentioned("Postmortem: "+doc.IncidentKey+" "+doc.Title, maxTitleLen, quietTitle, truncate)
}

// postmortemPath is postmortems/<YYYY-MM-DD>-<slug>.md; it depends only on
// the document, so every export of one incident writes the same file.
func (c *postmortemExporter) postmortemPath(doc incident.PostmortemDoc) string {
	date := doc.Date
	if date.IsZero() {
		date = c.now()
	}
	slug := slugify(doc.Slug)
	if slug == "" {
		slug = slugify(doc.Title)
	}
	if slug == "" {
		slug = slugify(doc.IncidentKey)
	}
	return fmt.Sprintf("postmortems/%s-%s.md", date.UTC().Format("2006-01-02"), slug)
}

// slugify keeps lower-case letters, digits and single dashes.
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	return truncate(b.String(), 60)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// truncateBody cuts s so that it and a suffix of room runes fit GitHub's
// limit on a body.
func truncateBody(s string, room int) string {
	const note = "\n\n_(Truncated: the full postmortem is too long for GitHub.)_"
	limit := maxBodyLen - room
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	return string([]rune(s)[:limit-utf8.RuneCountInString(note)]) + note
}

// postmortemMarker identifies an incident's postmortem issue in its body,
// so an export whose answer was lost (the issue opened, the reply timed
// out) finds that issue on the retry instead of opening a second one.
func postmortemMarker(doc incident.PostmortemDoc) string {
	return fmt.Sprintf("<!-- firebreak:postmortem:%s -->", doc.IncidentKey)
}

// postmortemIssueBody is the draft, cut to GitHub's limit, mentioning
// nobody and referencing nothing, followed by the marker.
func postmortemIssueBody(doc incident.PostmortemDoc) string {
	marker := "\n\n" + postmortemMarker(doc)
	room := utf8.RuneCountInString(marker)
	return fitUnmentioned(doc.Markdown, maxBodyLen-room, quietMarkdown, func(s string, n int) string {
		return truncateBody(s, maxBodyLen-n)
	}) + marker
}

func isStatus(err error, status int) bool {
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == status
}

func (c *postmortemExporter) exportPR(ctx context.Context, info repoInfo, doc incident.PostmortemDoc, w writer) (incident.ExportRef, error) {
	branch := "postmortem/" + strings.ToLower(doc.IncidentKey)
	p := c.postmortemPath(doc)
	blob, err := c.putFile(ctx, info, branch, p, doc, w)
	if err != nil {
		return incident.ExportRef{}, err
	}
	pr, err := c.postmortemPR(ctx, info, branch, p, doc, w.prev)
	if err != nil {
		return incident.ExportRef{}, err
	}
	return incident.ExportRef{ID: strconv.Itoa(pr.GetNumber()), URL: pr.GetHTMLURL(), Digest: blob}, nil
}

// branchExists reports whether the repository has the branch.
func (c *postmortemExporter) branchExists(ctx context.Context, r repoRef, branch string) (bool, error) {
	_, _, err := c.gh.Git.GetRef(ctx, r.owner, r.name, "heads/"+branch)
	switch {
	case err == nil:
		return true, nil
	case isStatus(err, http.StatusNotFound):
		return false, nil
	}
	return false, c.wrap(err, "read branch "+branch, r)
}

func (c *postmortemExporter) ensureBranch(ctx context.Context, info repoInfo, branch string) error {
	r := info.ref
	if ok, err := c.branchExists(ctx, r, branch); err != nil || ok {
		return err
	}
	base, _, err := c.gh.Git.GetRef(ctx, r.owner, r.name, "heads/"+info.defaultBranch)
	if err != nil {
		return c.wrap(err, "read branch "+info.defaultBranch, r)
	}
	_, _, err = c.gh.Git.CreateRef(ctx, r.owner, r.name, &gh.Reference{
		Ref:    gh.String("refs/heads/" + branch),
		Object: &gh.GitObject{SHA: base.GetObject().SHA},
	})
	// Another export may have created it meanwhile; that branch will do.
	if err != nil && !(isStatus(err, http.StatusUnprocessableEntity) && strings.Contains(err.Error(), "already exists")) {
		return c.wrap(err, "create branch "+branch, r)
	}
	return nil
}

// putFile commits the draft to p on the branch, creating the branch from
// the default branch's head when there is none, and returns the file's
// blob sha, which the export records. It writes over the file only when
// the file is what the bot last wrote there (prev.Digest, its blob sha),
// or what it was about to write when an earlier attempt's answer was lost
// (prev.Pending, recorded before that write), or already holds the draft:
// the pull request asks the team to edit the document on the branch, and
// their edits are not written over. Before it writes, it records what it
// is about to write (see writer.before). Without the branch (merged and
// deleted, or never made), the file is read on the default branch, which
// the new branch starts from: a merged document that is still the bot's
// gets a new pull request with the new draft, and one changed in review or
// since is left alone. Either refusal is ECONFLICT
// wrapping incident.ErrJobCancel. A write GitHub refuses because the file
// changed between the read and the write (409 for a stale sha, 422 for
// none when the file appeared) is read again and decided anew. Every one
// of these decisions is made from the file's blob sha, so a postmortem of
// any size GitHub takes (up to 100 MB) can be exported again.
func (c *postmortemExporter) putFile(ctx context.Context, info repoInfo, branch, p string, doc incident.PostmortemDoc, w writer) (string, error) {
	r, prev := info.ref, w.prev
	next := gitBlobSHA(doc.Markdown)
	for attempt := 0; ; attempt++ {
		exists, err := c.branchExists(ctx, r, branch)
		if err != nil {
			return "", err
		}
		at := branch
		if !exists {
			at = info.defaultBranch
		}
		cur, found, err := c.readFile(ctx, r, at, p)
		if err != nil {
			return "", err
		}
		if found {
			// Decided by the file's blob sha, never its content: GitHub
			// answers a file over 1 MB without it ("encoding": "none").
			switch {
			case cur.GetSHA() == next:
				// Unchanged, or written by an attempt whose answer was
				// lost: an empty commit would only add noise. Without the
				// branch, the default branch holds the draft, and so does
				// the branch made from it.
				if !exists {
					err = c.ensureBranch(ctx, info, branch)
				}
				return cur.GetSHA(), err
			case !ownWrite(prev, cur.GetSHA()) && !(prev == nil && exists):
				// Without a record, a file on the export's own branch is
				// from an attempt whose answer was lost; one on the
				// default branch may be anybody's.
				return "", c.editedError(r, at, exists, p, cur, prev)
			}
		}
		if !exists {
			if err := c.ensureBranch(ctx, info, branch); err != nil {
				return "", err
			}
		}
		if err := w.before(ctx, cur.GetSHA(), next); err != nil {
			return "", err
		}
		blob, err := c.writeFile(ctx, r, branch, p, doc, cur)
		if err == nil {
			return blob, nil
		}
		if !isStatus(err, http.StatusConflict) && !isStatus(err, http.StatusUnprocessableEntity) {
			return "", c.wrap(err, "write "+p, r)
		}
		if attempt > 0 {
			return "", &apiError{"write " + p, incident.Errorf(incident.ECONFLICT,
				"The postmortem %s keeps changing on GitHub while firebreak writes it; trying again later.", p), err}
		}
		// The file changed since the read (or the write was a resend of
		// one that took effect): read it again and decide again.
	}
}

// readFile returns the file at p on the branch, and whether there is one.
func (c *postmortemExporter) readFile(ctx context.Context, r repoRef, branch, p string) (*gh.RepositoryContent, bool, error) {
	cur, _, _, err := c.gh.Repositories.GetContents(ctx, r.owner, r.name, p, &gh.RepositoryContentGetOptions{Ref: branch})
	switch {
	case isStatus(err, http.StatusNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, c.wrap(err, "read "+p, r)
	}
	return cur, true, nil
}

// writeFile creates p on the branch when cur is nil, else updates it from
// cur, GitHub then checking that the file is still at cur's sha; it
// returns the blob sha of the file written.
func (c *postmortemExporter) writeFile(ctx context.Context, r repoRef, branch, p string, doc incident.PostmortemDoc, cur *gh.RepositoryContent) (string, error) {
	opts := &gh.RepositoryContentFileOptions{
		Message: gh.String(fmt.Sprintf("Add postmortem for %s", doc.IncidentKey)),
		// go-github base64-encodes Content itself.
		Content: []byte(doc.Markdown),
		Branch:  gh.String(branch),
	}
	var res *gh.RepositoryContentResponse
	var err error
	if cur == nil {
		res, _, err = c.gh.Repositories.CreateFile(ctx, r.owner, r.name, p, opts)
	} else {
		opts.Message = gh.String(fmt.Sprintf("Update postmortem for %s", doc.IncidentKey))
		opts.SHA = cur.SHA
		res, _, err = c.gh.Repositories.UpdateFile(ctx, r.owner, r.name, p, opts)
	}
	if err != nil {
		return "", err
	}
	return res.GetContent().GetSHA(), nil
}

// ownWrite reports whether digest names what the export recorded in prev
// as last written (Digest), or as about to be written by an attempt whose
// answer may have been lost (Pending). A record made before exports kept a
// digest names nothing.
func ownWrite(prev *incident.ExportRef, digest string) bool {
	return prev != nil && digest != "" && (prev.Digest == digest || prev.Pending == digest)
}

// writer is one export's way to its writes: the record of the export
// before it (nil for a first export) and how to keep it ahead of a write.
type writer struct {
	prev   *incident.ExportRef
	record func(context.Context, incident.ExportRef) error
}

// before records, ahead of a write, that next is about to be written over
// what is there now, cur: the bot's own, or nothing (""), as the caller
// has checked. cur becomes the last written, so that the record names
// both what may be there after the write and what is there if the write
// never took effect. It records nothing for a first export, or without a
// record function. An error stops the write: unrecorded, it could be
// taken for an edit.
func (w writer) before(ctx context.Context, cur, next string) error {
	if w.prev == nil || w.record == nil {
		return nil
	}
	ref := *w.prev
	if cur != "" {
		ref.Digest = cur
	}
	ref.Pending = next
	if err := w.record(ctx, ref); err != nil {
		return fmt.Errorf("github: record the postmortem write about to be made: %w", err)
	}
	return nil
}

// gitBlobSHA is git's object id of a file holding content, which GitHub's
// contents API answers as the file's sha: what the file will be named by
// once content is written.
func gitBlobSHA(content string) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write([]byte(content))
	return hex.EncodeToString(h.Sum(nil))
}

// changedSince says why what is on GitHub is not taken for the bot's:
// changed since the last export, or, for a record without a digest (made
// before firebreak kept one) or none, not known to be the bot's.
func changedSince(prev *incident.ExportRef, what string) string {
	if prev != nil && prev.Digest != "" {
		return what + " was edited on GitHub since the last export"
	}
	return what + " may have been edited on GitHub: firebreak has no record of what it last wrote there"
}

// editedError says that the postmortem file cur, at p on branch at, is not
// what the bot last wrote there (prev.Digest, a blob sha) and was left
// alone. Retrying cannot help: the edits stay until someone acts. So the
// error wraps incident.ErrJobCancel, and its kind is a conflict. onBranch
// tells the export's branch from the default branch, where a merged pull
// request put the document.
func (c *postmortemExporter) editedError(r repoRef, at string, onBranch bool, p string, cur *gh.RepositoryContent, prev *incident.ExportRef) error {
	last := ""
	if prev != nil {
		last = prev.Digest
	}
	c.log.Warn("github: the postmortem file is not what the bot last wrote there; leaving it alone",
		slog.String("repo", r.String()), slog.String("branch", at), slog.String("path", p),
		slog.String("sha", cur.GetSHA()), slog.String("last_written", last))
	link := "."
	if u := cur.GetHTMLURL(); u != "" {
		link = ": " + u
	}
	var msg string
	if onBranch {
		msg = fmt.Sprintf("%s; firebreak did not overwrite it. "+
			"Copy what the new draft adds into the file by hand, or delete the branch %s on GitHub (closing its pull request) and export again "+
			"to publish the draft in a new pull request%s", changedSince(prev, fmt.Sprintf("The postmortem %s on the branch %s", p, at)), at, link)
	} else {
		msg = fmt.Sprintf("%s; firebreak did not overwrite it. "+
			"Copy what the new draft adds into the file by hand, in a pull request of your own%s", changedSince(prev, fmt.Sprintf("The postmortem %s on %s", p, at)), link)
	}
	return fmt.Errorf("github: update %s: %w: %w", p, incident.Errorf(incident.ECONFLICT, "%s", msg), incident.ErrJobCancel)
}

// postmortemPR returns the open pull request for the branch: the one the
// previous export opened, else any open one for the branch, else a new one.
func (c *postmortemExporter) postmortemPR(ctx context.Context, info repoInfo, branch, p string, doc incident.PostmortemDoc, prev *incident.ExportRef) (*gh.PullRequest, error) {
	prevPR, err := c.previousPR(ctx, info.ref, branch, prev)
	if err != nil || prevPR.GetState() == "open" {
		return prevPR, err
	}
	if pr, err := c.openPR(ctx, info, branch); err != nil || pr != nil {
		return pr, err
	}
	r := info.ref
	pr, _, err := c.gh.PullRequests.Create(ctx, r.owner, r.name, &gh.NewPullRequest{
		Title: gh.String(postmortemTitle(doc)),
		Head:  gh.String(branch),
		Base:  gh.String(info.defaultBranch),
		Body: gh.String(quietMarkdown(fmt.Sprintf("Postmortem draft for %s: %s.\n\nThe document is `%s`; review it here, edit it on the branch, and merge when the review is done.",
			doc.IncidentKey, doc.Title, p))),
	})
	if err != nil {
		return c.recoverPR(ctx, info, branch, prevPR, err)
	}
	c.log.Info("github: postmortem pull request opened",
		slog.String("repo", r.String()), slog.Int("number", pr.GetNumber()), slog.String("incident", doc.IncidentKey))
	return pr, nil
}

// previousPR returns the pull request the previous export opened, when it
// is still for the branch (open, or closed since); nil when there is none.
func (c *postmortemExporter) previousPR(ctx context.Context, r repoRef, branch string, prev *incident.ExportRef) (*gh.PullRequest, error) {
	if prev == nil || prev.ID == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(prev.ID)
	if err != nil {
		return nil, nil
	}
	pr, _, err := c.gh.PullRequests.Get(ctx, r.owner, r.name, n)
	switch {
	case err == nil && pr.GetHead().GetRef() == branch:
		return pr, nil
	case err != nil && !isStatus(err, http.StatusNotFound):
		return nil, c.wrap(err, "read pull request", r)
	}
	return nil, nil
}

// recoverPR handles a failed pull request creation: a pull request opened
// meanwhile is the one to use, and so is the previous one when it was
// merged and nothing changed since.
func (c *postmortemExporter) recoverPR(ctx context.Context, info repoInfo, branch string, prevPR *gh.PullRequest, err error) (*gh.PullRequest, error) {
	if isStatus(err, http.StatusUnprocessableEntity) && strings.Contains(err.Error(), "already exists") {
		if pr, lerr := c.openPR(ctx, info, branch); lerr == nil && pr != nil {
			return pr, nil
		}
	}
	if prevPR != nil && isStatus(err, http.StatusUnprocessableEntity) && strings.Contains(err.Error(), "No commits between") {
		return prevPR, nil
	}
	return nil, c.wrap(err, "open a pull request", info.ref)
}

func (c *postmortemExporter) openPR(ctx context.Context, info repoInfo, branch string) (*gh.PullRequest, error) {
	r := info.ref
	prs, _, err := c.gh.PullRequests.List(ctx, r.owner, r.name, &gh.PullRequestListOptions{
		State: "open", Head: r.owner + ":" + branch, Base: info.defaultBranch,
	})
	if err != nil {
		return nil, c.wrap(err, "list pull requests", r)
	}
	if len(prs) == 0 {
		return nil, nil
	}
	return prs[0], nil
}

// exportIssue opens the postmortem's issue, or edits the one an earlier
// export opened: only while its body is what the bot last wrote there
// (prev.Digest, see bodyDigest), what it was about to write when an
// earlier attempt's answer was lost (prev.Pending, recorded before that
// edit, see writer.before), or already the draft, so people's edits to the
// issue on GitHub are not written over. An edited issue is left alone
// with ECONFLICT wrapping incident.ErrJobCancel. GitHub keeps no history
// of an issue body that the REST API reads, and takes no condition on an
// edit, so the bot reads the body just before it writes.
func (c *postmortemExporter) exportIssue(ctx context.Context, info repoInfo, doc incident.PostmortemDoc, w writer) (incident.ExportRef, error) {
	r, prev := info.ref, w.prev
	req := &gh.IssueRequest{Title: gh.String(postmortemTitle(doc)), Body: gh.String(postmortemIssueBody(doc))}
	number := 0
	if prev != nil && prev.ID != "" {
		number, _ = strconv.Atoi(prev.ID)
	}
	for searched := false; number != 0 || !searched; number = 0 {
		if number == 0 {
			// No issue of an earlier export to edit: one whose answer
			// was lost may still have opened it (the first, or the
			// replacement of a deleted one).
			searched = true
			var err error
			if number, err = c.findPostmortemIssue(ctx, r, postmortemMarker(doc)); err != nil || number == 0 {
				if err != nil {
					return incident.ExportRef{}, err
				}
				break
			}
		}
		ref, gone, err := c.editPostmortemIssue(ctx, r, number, req, w)
		if !gone {
			return ref, err
		}
		if searched {
			break
		}
	}
	// Recorded first, as an edit is: a retry after a lost answer takes
	// the issue this opened for the bot's own.
	if err := w.before(ctx, "", bodyDigest(req.GetBody())); err != nil {
		return incident.ExportRef{}, err
	}
	req.Labels = &[]string{postmortemLabel}
	issue, _, err := c.gh.Issues.Create(ctx, r.owner, r.name, req)
	if err != nil {
		return incident.ExportRef{}, c.issuesErr(err, "open an issue", r, postmortemIssues)
	}
	return incident.ExportRef{ID: strconv.Itoa(issue.GetNumber()), URL: issue.GetHTMLURL(), Digest: bodyDigest(issue.GetBody())}, nil
}

// editPostmortemIssue writes req over issue number, the bot's postmortem
// issue (by the export's record, or found by its marker), as exportIssue
// says. gone reports an issue deleted or transferred (GitHub answers 404,
// 410 or, for one moved to another repository, 301), or a pull request
// (the export mode changed): there is no issue of the bot's to edit.
func (c *postmortemExporter) editPostmortemIssue(ctx context.Context, r repoRef, number int, req *gh.IssueRequest, w writer) (ref incident.ExportRef, gone bool, err error) {
	cur, _, err := c.gh.Issues.Get(ctx, r.owner, r.name, number)
	switch {
	case err == nil && cur.IsPullRequest():
		return incident.ExportRef{}, true, nil
	case isStatus(err, http.StatusNotFound), isStatus(err, http.StatusGone):
		return incident.ExportRef{}, true, nil
	case err != nil:
		return incident.ExportRef{}, false, c.wrap(err, "read issue", r)
	}
	// Without a record, the issue found by its marker was opened by an
	// attempt whose answer was lost.
	d, next := bodyDigest(cur.GetBody()), bodyDigest(req.GetBody())
	if d != next && w.prev != nil && !ownWrite(w.prev, d) {
		return incident.ExportRef{}, false, c.issueEditedError(r, cur, w.prev)
	}
	if err := w.before(ctx, d, next); err != nil {
		return incident.ExportRef{}, false, err
	}
	issue, _, err := c.gh.Issues.Edit(ctx, r.owner, r.name, number, req)
	switch {
	case err == nil:
		return incident.ExportRef{ID: strconv.Itoa(issue.GetNumber()), URL: issue.GetHTMLURL(), Digest: bodyDigest(issue.GetBody())}, false, nil
	case isStatus(err, http.StatusNotFound), isStatus(err, http.StatusGone), isStatus(err, http.StatusMovedPermanently):
		return incident.ExportRef{}, true, nil
	}
	return incident.ExportRef{}, false, c.wrap(err, "edit issue", r)
}

// bodyDigest names an issue body by its SHA-256, taken over the body with
// its line endings made "\n" and without surrounding blank space: GitHub's
// editor saves "\r\n", so a body opened and saved unchanged in the browser
// is still the bot's.
func bodyDigest(body string) string {
	body = strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n"))
	sum := sha256.Sum256([]byte(body))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// issueEditedError says that the postmortem issue cur is not what the bot
// last wrote there (prev.Digest, a bodyDigest) and was left alone.
// Retrying cannot help, so the error wraps incident.ErrJobCancel; its kind
// is a conflict.
func (c *postmortemExporter) issueEditedError(r repoRef, cur *gh.Issue, prev *incident.ExportRef) error {
	c.log.Warn("github: the postmortem issue is not what the bot last wrote there; leaving it alone",
		slog.String("repo", r.String()), slog.Int("number", cur.GetNumber()),
		slog.String("digest", bodyDigest(cur.GetBody())), slog.String("last_written", prev.Digest))
	link := "."
	if u := cur.GetHTMLURL(); u != "" {
		link = ": " + u
	}
	return fmt.Errorf("github: edit issue %d: %w: %w", cur.GetNumber(), incident.Errorf(incident.ECONFLICT,
		"%s; firebreak did not overwrite it. "+
			"Copy what the new draft adds into the issue by hand, or delete the issue on GitHub (repository admins can) "+
			"and export again to publish the draft as a new issue%s", changedSince(prev, fmt.Sprintf("The postmortem issue #%d", cur.GetNumber())), link), incident.ErrJobCancel)
}

// findPostmortemIssue returns the number of the bot's postmortem issue,
// open or closed, whose body carries marker; 0 when there is none.
func (c *postmortemExporter) findPostmortemIssue(ctx context.Context, r repoRef, marker string) (int, error) {
	number := 0
	err := c.eachOwnIssue(ctx, r, strings.TrimSuffix(strings.TrimPrefix(marker, "<!-- "), " -->"), func(is *gh.Issue) bool {
		if strings.Contains(is.GetBody(), marker) {
			number = is.GetNumber()
			return true
		}
		return false
	})
	if isStatus(err, http.StatusGone) {
		return 0, c.issuesErr(err, "list issues", r, postmortemIssues)
	}
	return number, err
}

// What the export opens as issues, for issuesErr: the postmortem's or
// the action items'.
const (
	postmortemIssues = "the postmortem cannot be opened as an issue there: turn Issues on in the repository's settings, or export postmortems as pull requests instead"
	actionItemIssues = "the action items cannot be opened as issues there: turn Issues on in the repository's settings, or turn off the issues for action items"
)

// issuesErr translates an error of a call on the repository's issues. A
// 410 Gone there means the repository has Issues turned off: GitHub
// answers so to opening an issue ("If issues are disabled in the
// repository, the API returns a 410 Gone status"), and older versions to
// listing them too. Retrying cannot help, so it is EINVALID, saying what
// to change (what: postmortemIssues or actionItemIssues). An edit's 410,
// a deleted issue, is not read here. Any other error is wrap's.
func (c *postmortemExporter) issuesErr(err error, op string, r repoRef, what string) error {
	if isStatus(err, http.StatusGone) {
		return &apiError{op, incident.Errorf(incident.EINVALID, "GitHub Issues are turned off in %s, so %s.", r, what), err}
	}
	return c.wrap(err, op, r)
}

// eachOwnIssue calls fn with each issue, open or closed and newest first,
// that the bot opened in the repository, until fn returns true. The bot's
// issues are told by who opened them, not by their labels: GitHub silently
// drops the labels of a token without push access to the repository.
// When GitHub will not say who the token is, every issue is looked at, and
// only the hidden marker tells; when it cannot say for now, the error is
// returned, so nothing is opened twice in the meantime.
//
// The listing stops after maxPages pages (1,000 issues). Past them, the
// issues whose body holds text, the words of the marker fn looks for, are
// asked of GitHub's search (see searchOwnIssues): the listing finds the
// newest issues, which the search may not have indexed yet, and the search
// finds the older ones the listing does not reach.
func (c *postmortemExporter) eachOwnIssue(ctx context.Context, r repoRef, text string, fn func(*gh.Issue) bool) error {
	opts := &gh.IssueListByRepoOptions{State: "all", ListOptions: gh.ListOptions{PerPage: perPage}}
	login, err := c.selfLogin(ctx)
	switch {
	case err == nil:
		opts.Creator = login
	case incident.ErrorCode(err) == incident.EUNAVAILABLE || ctx.Err() != nil:
		return err
	default:
		c.log.Warn("github: the token's login is unknown; looking for the bot's issues among every issue",
			slog.String("repo", r.String()), slog.Any("err", err))
	}
	seen := map[int]bool{}
	own := func(is *gh.Issue) bool {
		return !is.IsPullRequest() && (login == "" || strings.EqualFold(is.GetUser().GetLogin(), login))
	}
	for page := 0; page < maxPages; page++ {
		issues, resp, err := c.gh.Issues.ListByRepo(ctx, r.owner, r.name, opts)
		if err != nil {
			return c.wrap(err, "list issues", r)
		}
		for _, is := range issues {
			seen[is.GetNumber()] = true
			if own(is) && fn(is) {
				return nil
			}
		}
		if resp.NextPage == 0 {
			return nil
		}
		opts.Page = resp.NextPage
	}
	return c.searchOwnIssues(ctx, r, text, func(is *gh.Issue) bool {
		return !seen[is.GetNumber()] && own(is) && fn(is)
	})
}

// searchOwnIssues calls fn with each issue, newest first, whose body holds
// text as a phrase, as GitHub's issue search finds them (up to its 1,000
// results), until fn returns true. fn still reads the body for the exact
// marker: the search matches words, not characters. A GitHub whose search
// does not index the words of HTML comments (some GitHub Enterprise
// Server instances) finds nothing here, and a search GitHub refuses is
// logged and taken as finding nothing; a search GitHub cannot serve for
// now (down, rate limited, or timed out: "incomplete_results" without the
// issue looked for) is an error, so nothing is opened twice meanwhile.
func (c *postmortemExporter) searchOwnIssues(ctx context.Context, r repoRef, text string, fn func(*gh.Issue) bool) error {
	q := fmt.Sprintf(`repo:%s is:issue in:body "%s"`, r, strings.ReplaceAll(text, `"`, " "))
	opts := &gh.SearchOptions{Sort: "created", Order: "desc", ListOptions: gh.ListOptions{PerPage: perPage}}
	for page := 0; page < maxPages; page++ {
		res, resp, err := c.gh.Search.Issues(ctx, q, opts)
		if err != nil {
			err = c.wrap(err, "search issues", r)
			if incident.ErrorCode(err) == incident.EUNAVAILABLE || ctx.Err() != nil {
				return err
			}
			c.log.Warn("github: searching the issues past the listing failed; taking it as finding none",
				slog.String("repo", r.String()), slog.Any("err", err))
			return nil
		}
		for _, is := range res.Issues {
			if fn(is) {
				return nil
			}
		}
		if res.GetIncompleteResults() {
			// GitHub's search ran out of time and answered what it had
			// found: what it missed may be the issue looked for.
			return &apiError{"search issues", incident.Errorf(incident.EUNAVAILABLE,
				"GitHub's issue search timed out before it had searched every issue; trying again later."), errSearchIncomplete}
		}
		if resp.NextPage == 0 {
			return nil
		}
		opts.Page = resp.NextPage
	}
	return nil
}

// errSearchIncomplete is a search answered with "incomplete_results": true.
var errSearchIncomplete = errors.New("the search timed out: incomplete_results")

// actionItemMarker identifies an action item's issue in its body, so a
// re-export finds it: the domain does not learn the issue's URL from an
// export.
func actionItemMarker(doc incident.PostmortemDoc, item incident.ActionItem) string {
	id := strconv.FormatInt(item.ID, 10)
	if item.ID == 0 {
		sum := sha256.Sum256([]byte(item.Text))
		id = hex.EncodeToString(sum[:8])
	}
	return fmt.Sprintf("<!-- firebreak:action-item:%s:%s -->", doc.IncidentKey, id)
}

// exportActionItems opens an issue for each open action item with no
// tracker link, unless a follow-up issue already carries its marker.
func (c *postmortemExporter) exportActionItems(ctx context.Context, info repoInfo, doc incident.PostmortemDoc) error {
	r := info.ref
	var todo []incident.ActionItem
	for _, item := range doc.ActionItems {
		if item.ExternalURL == "" && !item.Done && strings.TrimSpace(item.Text) != "" {
			todo = append(todo, item)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	existing, err := c.followUpBodies(ctx, r, doc.IncidentKey)
	if err != nil {
		return err
	}
	for _, item := range todo {
		marker := actionItemMarker(doc, item)
		if hasMarker(existing, marker) {
			continue
		}
		req := actionItemIssue(doc, item, marker, "")
		issue, _, err := c.gh.Issues.Create(ctx, r.owner, r.name, req)
		if login := doc.GitHubLogins[item.Owner]; err != nil && login != "" && unassignable(err) {
			// GitHub refuses the whole issue for an assignee it will not
			// take (not a collaborator, no such user): open it without,
			// saying so in it.
			c.log.Warn("github: the action item's owner cannot be assigned; opening its issue unassigned",
				slog.String("repo", r.String()), slog.String("login", login), slog.String("incident", doc.IncidentKey), slog.Any("err", err))
			req = actionItemIssue(doc, item, marker, login)
			issue, _, err = c.gh.Issues.Create(ctx, r.owner, r.name, req)
		}
		if err != nil {
			return c.issuesErr(err, "open an issue", r, actionItemIssues)
		}
		existing[req.GetBody()] = true
		c.log.Info("github: action item issue opened",
			slog.String("repo", r.String()), slog.Int("number", issue.GetNumber()), slog.String("incident", doc.IncidentKey))
	}
	return nil
}

// unassignable reports whether GitHub refused an issue for its assignees:
// 422 Validation Failed with an error on the field assignees (or the
// older assignee), as it answers for a login that cannot be assigned in
// the repository.
func unassignable(err error) bool {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	for _, e := range er.Errors {
		if e.Field == "assignees" || e.Field == "assignee" {
			return true
		}
	}
	return false
}

// followUpBodies returns the bodies of the bot's issues in the
// repository, open or closed: all of those the listing reaches, and past
// it those of the incident's action items.
func (c *postmortemExporter) followUpBodies(ctx context.Context, r repoRef, key string) (map[string]bool, error) {
	existing := map[string]bool{}
	err := c.eachOwnIssue(ctx, r, "firebreak:action-item:"+key+":", func(is *gh.Issue) bool {
		existing[is.GetBody()] = true
		return false
	})
	if isStatus(err, http.StatusGone) {
		return nil, c.issuesErr(err, "list issues", r, actionItemIssues)
	}
	if err != nil {
		return nil, err
	}
	return existing, nil
}

// actionItemIssue is the follow-up issue for an action item: its first
// line as the title, the incident, owner and due date in the body, and the
// marker that finds it again. The owner is named as the chat names them,
// with their GitHub login where the policy maps one, and the issue is
// assigned to that login, unless refused names it as one GitHub would not
// take: the body then says so, and nobody is assigned. Title and body
// mention nobody, the login included: being assigned notifies its owner;
// and they reference nothing.
func actionItemIssue(doc incident.PostmortemDoc, item incident.ActionItem, marker, refused string) *gh.IssueRequest {
	owner := "nobody yet"
	login := doc.GitHubLogins[item.Owner]
	if item.Owner != "" {
		owner = doc.OwnerNames[item.Owner]
		if owner == "" {
			owner = "Slack user " + item.Owner
		}
		if login != "" {
			owner += " (@" + login + ")"
		}
	}
	body := fmt.Sprintf("Follow-up from %s: %s.\n\nOwner: %s", doc.IncidentKey, doc.Title, owner)
	if item.DueOn != nil {
		body += "\nDue: " + item.DueOn.Format("2006-01-02")
	}
	if refused != "" {
		body += fmt.Sprintf("\n\n_GitHub would not assign this issue to @%s (not a collaborator of this repository?); assign it by hand._", refused)
	}
	body = quietMarkdown(body) + "\n\n" + marker
	title, _, _ := strings.Cut(strings.TrimSpace(item.Text), "\n")
	req := &gh.IssueRequest{
		Title:  gh.String(fitUnmentioned(title, maxTitleLen, quietTitle, truncate)),
		Body:   gh.String(body),
		Labels: &[]string{followUpLabel},
	}
	if login != "" && refused == "" {
		req.Assignees = &[]string{login}
	}
	return req
}

func hasMarker(bodies map[string]bool, marker string) bool {
	for b := range bodies {
		if strings.Contains(b, marker) {
			return true
		}
	}
	return false
}
