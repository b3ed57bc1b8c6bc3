// Package confluence publishes postmortem drafts to Confluence as pages. It
// speaks Confluence Cloud's v2 REST API (/wiki/api/v2/pages), or, with the
// DataCenter flavor, the REST API of Confluence Data Center and Server
// (/rest/api/content), which has no v2. It implements incident.Exporter:
// the first export creates a page, a re-export updates the same page with
// the next version number, so a draft is never published twice.
//
// Confluence updates use optimistic locking: a PUT must carry exactly the
// current version plus one. The client reads the current version before each
// update, and when someone saves the page in between (409 Conflict) it reads
// again and retries once.
//
// A page people edited in Confluence since the bot last wrote it is never
// overwritten (ADR 0036): when the current version is newer than the one
// the export recorded and was not written by the bot, whose every update
// carries its version message, the export leaves the page alone and says
// who edited it, in an error that retrying cannot help. A version the bot
// wrote whose answer was lost carries that message, so it is not taken for
// an edit.
//
// Titles are unique within a space. Every page the client writes carries an
// invisible anchor macro naming the incident, so a page with the
// postmortem's title is told apart: the client's own (a create that took
// effect but whose answer was lost, or whose record was) is found and
// updated; a page someone else made is left alone, and the postmortem is
// published as "<title> (2)" (then 3, and so on) instead. At the first
// clash one CQL search reads every numbered title at once, so the bot's
// own page under one is updated and titles others hold are skipped without
// a call each; the create and the exact lookup still decide, since the
// search trails the pages. Both flavors keep these guarantees; only the
// requests differ (cloud.go, datacenter.go).
package confluence

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// Target is the ExportRef.Target of Confluence exports.
const Target = incident.ProviderConfluence

// MaxTitleLength is Confluence's limit on a page title, counted as Java
// counts a string's length: in UTF-16 units, so an emoji counts twice.
const MaxTitleLength = 255

// maxTitleTries bounds the numbered titles tried when pages made by others
// hold the postmortem's title.
const maxTitleTries = 5

// lookupLimit is how many results one page of a title lookup asks for, and
// maxLookupPages how many pages of results one lookup reads at most.
const (
	lookupLimit    = 100
	maxLookupPages = 10
)

// maxBody bounds how much of a response the client reads. An answer to a
// create or an update carries the page's body back, which may be as large
// as the request Confluence took (RequestLimit) and escaped further, so
// the bound leaves room for it: a cut answer would not decode, and the
// page written would be taken for a failure.
const maxBody = 16 << 20

// RequestLimit is the largest request body Confluence accepts, in bytes:
// 5 MiB, on Cloud and by default on Data Center
// (atlassian.rest.request.maxsize). A larger one is refused with 413.
const RequestLimit = 5 << 20

// defaultRetryAfter is the wait reported for a 429 without Retry-After.
const defaultRetryAfter = time.Minute

// Flavor is the kind of Confluence deployment, which decides the API the
// client speaks and how it authenticates.
type Flavor string

// The flavors of Confluence.
const (
	// Cloud is Confluence Cloud (SITE.atlassian.net): the v2 REST API,
	// HTTP Basic auth with an e-mail and an Atlassian API token.
	Cloud Flavor = "cloud"
	// DataCenter is Confluence Data Center or Server, installed by the
	// customer: the REST API under /rest/api, with a personal access token
	// sent as a bearer token.
	DataCenter Flavor = "datacenter"
)

// Config configures the Confluence exporter.
type Config struct {
	// Flavor picks the deployment; empty means Cloud.
	Flavor Flavor
	// BaseURL is the site's wiki root: https://SITE.atlassian.net/wiki on
	// Cloud (the site root of an atlassian.net site gets /wiki added); on
	// Data Center the base URL with its context path, if any, such as
	// https://confluence.example.com/confluence. A trailing /rest/api or
	// /api/v2 is dropped.
	BaseURL string
	// Email and APIToken authenticate with HTTP Basic auth on Cloud; the
	// token is an Atlassian API token of an account that may create pages
	// in the space. On Data Center, APIToken is a personal access token of
	// such an account and Email is not used.
	Email    string
	APIToken string
	// SpaceID is the numeric id of the space, or its key (such as ENG),
	// which is looked up once (the v2 API takes the id). Data Center takes
	// the key.
	SpaceID string
	// ParentID is the page postmortems are created under; empty puts them
	// under the space's home page.
	ParentID string
	// HTTPClient sends the requests; pass the outbound client's HTTPClient
	// for retries, breaker and metrics. Nil means a client with a 30-second
	// timeout.
	HTTPClient *http.Client
	// Logger receives one line per page created or updated; it never sees
	// the credentials or the page body. Nil discards.
	Logger *slog.Logger
}

// Client exports postmortems to Confluence. It is safe for concurrent use.
type Client struct {
	cfg    Config
	api    api
	base   string
	http   *http.Client
	logger *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	spaceID string // resolved from a key on first use
}

// New returns a Client for cfg.
func New(cfg Config) *Client {
	cfg.SpaceID = strings.TrimSpace(cfg.SpaceID)
	var wire api = cloudAPI{}
	if cfg.Flavor == DataCenter {
		wire = dataCenterAPI{}
	}
	c := &Client{
		cfg:    cfg,
		api:    wire,
		base:   wire.root(cfg.BaseURL),
		http:   cfg.HTTPClient,
		logger: cfg.Logger,
		now:    time.Now,
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// trimAPI drops a trailing API path from a configured URL, so the URL of
// an API page pasted as the base works.
func trimAPI(raw string) string {
	base := strings.TrimRight(strings.TrimSpace(raw), "/")
	for _, api := range []string{"/rest/api", "/api/v2"} {
		base = strings.TrimRight(strings.TrimSuffix(base, api), "/")
	}
	return base
}

// Name names the exporter to people.
func (c *Client) Name() string { return "Confluence" }

// Title returns the page title for a postmortem: "Postmortem: INC-42 <title>",
// without the characters XML forbids and cut to Confluence's limit.
func Title(doc incident.PostmortemDoc) string {
	clean := strings.Map(func(r rune) rune {
		if !xmlChar(r) {
			return -1
		}
		return r
	}, doc.Title)
	t := strings.TrimSpace(fmt.Sprintf("Postmortem: %s %s", doc.IncidentKey, strings.Join(strings.Fields(clean), " ")))
	return cut(t, MaxTitleLength)
}

// numbered returns the title's n-th variant, "<title> (n)", within the
// limit; the first is the title itself.
func numbered(title string, n int) string {
	if n <= 1 {
		return title
	}
	suffix := " (" + strconv.Itoa(n) + ")"
	return cut(title, MaxTitleLength-utf16Len(suffix)) + suffix
}

// cut shortens s to at most max UTF-16 units, ending it with "…" when
// anything was cut, and never splits a character.
func cut(s string, max int) string {
	if utf16Len(s) <= max {
		return s
	}
	n := 0
	for i, r := range s {
		n += utf16.RuneLen(r)
		if n > max-1 {
			return strings.TrimRightFunc(s[:i], unicode.IsSpace) + "…"
		}
	}
	return s
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// xmlChar reports whether XML 1.0 allows r, as Confluence's storage does.
func xmlChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// marker is the anchor macro that marks a page as this incident's export.
// An anchor renders nothing; it survives edits made in the editor.
func marker(key string) string {
	return `<ac:structured-macro ac:name="anchor"><ac:parameter ac:name="">` + markerName(key) + `</ac:parameter></ac:structured-macro>`
}

func markerName(key string) string {
	return "firebreak-postmortem-" + strings.NewReplacer("&", "", "<", "", ">", "", `"`, "").Replace(key)
}

// ours reports whether a stored body carries the incident's marker.
func ours(body, key string) bool {
	return strings.Contains(body, ">"+markerName(key)+"</ac:parameter>")
}

// Export publishes doc.Confluence. Without prev it creates a page, or
// updates the page of the same title when one exists in the space; with prev
// it updates that page (and creates a new one if it was deleted), unless
// people edited it in Confluence since prev.Version. Errors carry incident
// error codes: EFORBIDDEN for refused credentials, ENOTFOUND for a missing
// space or parent, ECONFLICT when the page keeps changing under us, and
// ECONFLICT wrapping incident.ErrJobCancel when the page was edited in
// Confluence and is left alone, EINVALID for a page Confluence rejects,
// EUNAVAILABLE (with a RetryAfter for 429) when Confluence is down or
// limiting us.
func (c *Client) Export(ctx context.Context, doc incident.PostmortemDoc, prev *incident.ExportRef) (incident.ExportRef, error) {
	if c.base == "" || c.cfg.SpaceID == "" {
		return incident.ExportRef{}, incident.Errorf(incident.EINVALID, "Confluence is not configured: set the base URL and the space id.")
	}
	space, err := c.space(ctx)
	if err != nil {
		return incident.ExportRef{}, err
	}
	doc.Confluence = marker(doc.IncidentKey) + doc.Confluence
	title := Title(doc)
	if prev != nil && prev.ID != "" && (prev.Target == "" || prev.Target == Target) {
		ref, err := c.update(ctx, prev.ID, title, doc, prev.Version)
		if incident.ErrorCode(err) != incident.ENOTFOUND {
			return ref, err
		}
		// Someone deleted the page: publish the draft again.
		c.logger.Warn("confluence page of an earlier export is gone; creating a new one",
			slog.String("incident", doc.IncidentKey), slog.String("page_id", prev.ID))
	}
	// held are the numbers whose titles pages made by others hold, as far
	// as the search of the numbered titles (done once, at the first
	// clash) says; a create is still what decides a title is free.
	held := map[int]bool{}
	searched := false
	for n := 1; n <= maxTitleTries; n++ {
		if held[n] {
			continue
		}
		t := numbered(title, n)
		page, err := c.create(ctx, space, t, doc)
		if err == nil {
			c.logger.Info("confluence page created", slog.String("incident", doc.IncidentKey), slog.String("page_id", page.ID))
			return c.ref(page), nil
		}
		if !errors.Is(err, errTitleTaken) {
			return incident.ExportRef{}, err
		}
		id, err := c.findOwn(ctx, space, t, doc.IncidentKey)
		if err != nil {
			return incident.ExportRef{}, err
		}
		if id != "" {
			// Ours: an earlier create took effect though its answer or its
			// record was lost.
			c.logger.Info("confluence page of this postmortem exists; updating it",
				slog.String("incident", doc.IncidentKey), slog.String("page_id", id))
			return c.update(ctx, id, t, doc, 0)
		}
		c.logger.Info("confluence page with the postmortem's title was made by someone else; trying the next title",
			slog.String("incident", doc.IncidentKey), slog.Int("n", n))
		if searched {
			continue
		}
		searched = true
		own, others, err := c.numberedTitles(ctx, space, title, doc.IncidentKey)
		if err != nil {
			return incident.ExportRef{}, err
		}
		if own.ID != "" {
			ref, err := c.update(ctx, own.ID, own.Title, doc, 0)
			if incident.ErrorCode(err) != incident.ENOTFOUND {
				c.logger.Info("confluence page of this postmortem exists under a numbered title; updated it",
					slog.String("incident", doc.IncidentKey), slog.String("page_id", own.ID))
				return ref, err
			}
			// The search had not yet seen it deleted: go on creating.
		}
		held = others
	}
	return incident.ExportRef{}, incident.Errorf(incident.ECONFLICT,
		"Pages titled %q and %q through (%d) already exist in the Confluence space and were not made by this bot; rename or move one of them, then export again.",
		title, title+" (2)", maxTitleTries)
}

// space returns how requests name the configured space.
func (c *Client) space(ctx context.Context) (string, error) {
	return c.api.space(ctx, c)
}

func isID(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// spaceName names the configured space in messages.
func (c *Client) spaceName() string {
	if isID(c.cfg.SpaceID) && c.cfg.Flavor != DataCenter {
		return "the space with id " + c.cfg.SpaceID
	}
	return "the space " + c.cfg.SpaceID
}

// api is the part of the client that differs between Cloud and Data
// Center: where the requests go, what they carry, and how they are
// authenticated. Everything else (the title rules, the marker, retries on a
// conflict, reading the answers) is shared.
type api interface {
	// root turns the configured URL into the base the API paths hang from.
	root(raw string) string
	// space returns how requests name the configured space.
	space(ctx context.Context, c *Client) (string, error)
	authorize(req *http.Request, cfg Config)
	pageAPI
	searchAPI
	// unauthorized says what to fix after a 401, notFoundHint what to
	// check after a 404.
	unauthorized() string
	notFoundHint() string
	// editor names the person who saved version v, or "" when Confluence
	// does not say.
	editor(ctx context.Context, c *Client, v pageVersion) string
}

// pageAPI is how a flavour of Confluence creates, reads, updates and finds
// pages.
type pageAPI interface {
	createPath() string
	createBody(space, parent, title, body string) any
	getPath(id string) string
	putPath(id string) string
	updateBody(id, title, body string, version int) any
	// findPath asks for the current pages titled title in space, bodies
	// and versions included, from where an earlier answer's next link
	// pointed ("" for the first page).
	findPath(space, title, from string) string
	// nextParam names the parameter of a next link that findPath takes.
	nextParam() string
}

// searchAPI is how a flavour of Confluence searches pages by title.
type searchAPI interface {
	// titleCQL is the CQL query for the pages of space whose titles hold
	// phrase; searchPath asks for its results, bodies, versions and
	// spaces included, from where an earlier answer's next link pointed,
	// whose parameter searchNextParam names. inSpace says whether a
	// result is in space.
	titleCQL(space, phrase string) string
	searchPath(cql, from string) string
	searchNextParam() string
	inSpace(p page, space string) bool
}

// errTitleTaken marks a create refused because the title is in use.
var errTitleTaken = errors.New("a page with this title already exists")

// page is the part of a page the client reads; both APIs answer with this
// shape (v1 with expand=body.storage,version).
type page struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	SpaceID string `json:"spaceId"`
	// Space is where the v1 API (and search) says the page is.
	Space struct {
		ID  json.Number `json:"id"`
		Key string      `json:"key"`
	} `json:"space"`
	Version pageVersion `json:"version"`
	Body    struct {
		Storage struct {
			Value string `json:"value"`
		} `json:"storage"`
	} `json:"body"`
	Links struct {
		WebUI string `json:"webui"`
	} `json:"_links"`
}

// pageVersion is what Confluence says of a page's current version. Cloud's
// v2 API names its author by account id (authorId) and its time createdAt;
// the v1 API (Data Center's, and Cloud's search) gives the author in by
// and the time in when.
type pageVersion struct {
	Number    int    `json:"number"`
	Message   string `json:"message"`
	AuthorID  string `json:"authorId"`
	CreatedAt string `json:"createdAt"`
	By        struct {
		AccountID   string `json:"accountId"`
		Username    string `json:"username"`
		DisplayName string `json:"displayName"`
	} `json:"by"`
	When string `json:"when"`
}

// byBot reports whether the client wrote this version: every update it
// sends carries versionMessage, which a save in the editor does not (its
// change note is empty or the person's own). The author would not tell:
// people may share the bot's account in the browser.
func (v pageVersion) byBot() bool { return v.Message == versionMessage }

// editedSince reports whether people saved the page after the version the
// client last wrote (last; 0 when unknown, as for a page found by its
// marker, whose version 1 the client created): the current version is newer
// and not the client's. The client never writes over a version it did not
// write, so when the current one is its own, so are all since last.
func editedSince(cur pageVersion, last int) bool {
	return cur.Number > max(last, 1) && !cur.byBot()
}

func (c *Client) create(ctx context.Context, space, title string, doc incident.PostmortemDoc) (page, error) {
	// A create is safe to resend: a duplicate is refused for its title and
	// then found by its marker and updated.
	ctx = outbound.WithIdempotent(outbound.WithOperation(ctx, "pages.create"))
	var p page
	status, msg, err := c.do(ctx, http.MethodPost, c.api.createPath(), c.api.createBody(space, c.cfg.ParentID, title, doc.Confluence), &p)
	if err != nil {
		return page{}, fmt.Errorf("confluence create page: %w", err)
	}
	if titleTaken(status, msg) {
		return page{}, errTitleTaken
	}
	if status != http.StatusOK && status != http.StatusCreated {
		return page{}, fmt.Errorf("confluence create page: %w", c.statusError(status, msg, nil))
	}
	return p, nil
}

func (c *Client) get(ctx context.Context, id string) (page, error) {
	var p page
	status, msg, err := c.do(outbound.WithOperation(ctx, "pages.get"), http.MethodGet, c.api.getPath(id), nil, &p)
	if err != nil {
		return page{}, fmt.Errorf("confluence get page: %w", err)
	}
	if status != http.StatusOK {
		return page{}, fmt.Errorf("confluence get page %s: %w", id, c.statusError(status, msg, nil))
	}
	return p, nil
}

func titleTaken(status int, msg string) bool {
	return status == http.StatusBadRequest && strings.Contains(strings.ToLower(msg), "already exists")
}

// update writes the draft as the next version of page id, reading the
// current version first and once more after a conflict. last is the
// version the client last wrote, 0 when unknown; a page edited in
// Confluence since is left alone (editedError). When the title is held by
// another page (ours was numbered, or the incident was renamed to a title
// in use) the page keeps the title it has.
func (c *Client) update(ctx context.Context, id, title string, doc incident.PostmortemDoc, last int) (incident.ExportRef, error) {
	conflicts := 0
	for {
		cur, err := c.get(ctx, id)
		if err != nil {
			return incident.ExportRef{}, err
		}
		if editedSince(cur.Version, last) {
			return incident.ExportRef{}, c.editedError(ctx, doc.IncidentKey, cur, last)
		}
		req := c.api.updateBody(id, title, doc.Confluence, cur.Version.Number+1)
		var p page
		status, msg, err := c.do(outbound.WithOperation(ctx, "pages.update"), http.MethodPut, c.api.putPath(id), req, &p)
		if err != nil {
			return incident.ExportRef{}, fmt.Errorf("confluence update page: %w", err)
		}
		switch {
		case status == http.StatusOK:
			c.logger.Info("confluence page updated", slog.String("incident", doc.IncidentKey),
				slog.String("page_id", id), slog.Int("version", p.Version.Number))
			return c.ref(p), nil
		case status == http.StatusConflict && conflicts == 0:
			// Someone saved the page between our read and our write.
			conflicts++
			continue
		case titleTaken(status, msg) && title != cur.Title && cur.Title != "":
			title = cur.Title
			continue
		case status == http.StatusConflict:
			return incident.ExportRef{}, fmt.Errorf("confluence update page %s: %w", id, incident.Errorf(incident.ECONFLICT,
				"The Confluence page is being edited by someone else; export again in a moment."))
		}
		return incident.ExportRef{}, fmt.Errorf("confluence update page %s: %w", id, c.statusError(status, msg, nil))
	}
}

// editedError says that page p was edited in Confluence since the version
// the client last wrote, and that the client left it alone. Retrying cannot
// help, the edits stay until someone acts, so the error wraps
// incident.ErrJobCancel; its kind is a conflict, not an outage.
func (c *Client) editedError(ctx context.Context, key string, p page, last int) error {
	by := c.api.editor(ctx, c, p.Version)
	c.logger.Warn("confluence page was edited since the bot last wrote it; leaving it alone",
		slog.String("incident", key), slog.String("page_id", p.ID), slog.Int("version", p.Version.Number),
		slog.Int("last_written", last), slog.String("author", cmp.Or(p.Version.AuthorID, p.Version.By.Username)),
		slog.String("saved_at", cmp.Or(p.Version.CreatedAt, p.Version.When)))
	if by != "" {
		by = " by " + by
	}
	link := "."
	if u := c.ref(p).URL; u != "" {
		link = ": " + u
	}
	return fmt.Errorf("confluence update page %s: %w: %w", p.ID, incident.Errorf(incident.ECONFLICT,
		"The Confluence page was edited in Confluence%s since the last export (version %d); firebreak did not overwrite it. "+
			"Copy what the new draft adds into the page by hand, or delete the page in Confluence and export again to publish the draft as a new page%s",
		by, p.Version.Number, link), incident.ErrJobCancel)
}

// findOwn returns the id of the current page with this title in the space
// when it carries the incident's marker, and "" when the pages holding the
// title were made by someone else (or cannot be read by the account). It
// follows the lookup's next links, up to maxLookupPages pages of results.
func (c *Client) findOwn(ctx context.Context, space, title, key string) (string, error) {
	from := ""
	for range maxLookupPages {
		var res struct {
			Results []page `json:"results"`
			Links   struct {
				Next string `json:"next"`
			} `json:"_links"`
		}
		status, msg, err := c.do(outbound.WithOperation(ctx, "pages.find"), http.MethodGet, c.api.findPath(space, title, from), nil, &res)
		if err != nil {
			return "", fmt.Errorf("confluence find page: %w", err)
		}
		if status != http.StatusOK {
			return "", fmt.Errorf("confluence find page: %w", c.statusError(status, msg, nil))
		}
		for _, p := range res.Results {
			if p.Title == title && p.ID != "" && ours(p.Body.Storage.Value, key) {
				return p.ID, nil
			}
		}
		from = nextParam(res.Links.Next, c.api.nextParam())
		if from == "" {
			return "", nil
		}
	}
	c.logger.Warn("confluence title lookup stopped at its cap; taking the title as someone else's",
		slog.String("incident", key), slog.Int("pages", maxLookupPages))
	return "", nil
}

// numberedTitles searches the space once for the pages whose titles hold
// the words of title, which its numbered variants all do, and sorts out
// those titled exactly as one of them: own is the one carrying the
// incident's marker, if any, and others the numbers of those someone else
// made. It reads Confluence's search (CQL), which lags behind the pages by
// moments: a page it misses is found by the create that clashes with it
// and the exact lookup after it, as before. A search Confluence refuses
// (an older Data Center without CQL) finds nothing, and the titles are
// tried one by one; one it cannot serve for now is an error.
func (c *Client) numberedTitles(ctx context.Context, space, title, key string) (own page, others map[int]bool, err error) {
	want := map[string]int{}
	for n := 2; n <= maxTitleTries; n++ {
		want[numbered(title, n)] = n
	}
	others = map[int]bool{}
	cql := c.api.titleCQL(space, titlePhrase(title))
	from := ""
	for range maxLookupPages {
		var res struct {
			Results []page `json:"results"`
			Links   struct {
				Next string `json:"next"`
			} `json:"_links"`
		}
		status, msg, err := c.do(outbound.WithOperation(ctx, "pages.search"), http.MethodGet, c.api.searchPath(cql, from), nil, &res)
		if err != nil {
			return page{}, nil, fmt.Errorf("confluence search pages: %w", err)
		}
		if status != http.StatusOK {
			c.logger.Warn("confluence refused the search for numbered titles; trying them one by one",
				slog.String("incident", key), slog.Int("status", status), slog.String("message", clip(msg)))
			return page{}, map[int]bool{}, nil
		}
		for _, p := range res.Results {
			n, ok := want[p.Title]
			if !ok || p.ID == "" || !c.api.inSpace(p, space) {
				continue
			}
			if ours(p.Body.Storage.Value, key) {
				return p, nil, nil
			}
			others[n] = true
		}
		from = nextParam(res.Links.Next, c.api.searchNextParam())
		if from == "" {
			break
		}
	}
	return page{}, others, nil
}

// titlePhrase is the words of title that all its numbered variants hold,
// as a CQL phrase: letters and digits only, so nothing needs escaping. A
// variant cut to fit its number ends in a cut word, which is left out.
func titlePhrase(title string) string {
	words := strings.FieldsFunc(title, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if numbered(title, maxTitleTries) != title+" ("+strconv.Itoa(maxTitleTries)+")" && len(words) > 0 {
		short := strings.FieldsFunc(cut(title, MaxTitleLength-utf16Len(" (9)")), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		words = short[:max(len(short)-1, 0)]
	}
	return strings.Join(words, " ")
}

// nextParam reads one query parameter of a next link. Cloud's link is
// relative to the site and carries the context path
// (/wiki/api/v2/...?cursor=...), Data Center's is relative to the base URL,
// so only the parameter is reused, on the client's own base URL.
func nextParam(next, name string) string {
	if next == "" {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil {
		return ""
	}
	return u.Query().Get(name)
}

func (c *Client) ref(p page) incident.ExportRef {
	link := ""
	if p.Links.WebUI != "" {
		link = c.base + "/" + strings.TrimLeft(p.Links.WebUI, "/")
	}
	return incident.ExportRef{Target: Target, ID: p.ID, URL: link, Version: p.Version.Number}
}

// do sends one request and decodes a 2xx JSON answer into out. It returns
// the status and, for any other status, the error message Confluence gave.
// Only a failure to reach Confluence or to decode a success is an error; the
// caller decides what each status means. A 401, 403, 429 or 5xx is turned
// into its error here, since it means the same for every call.
func (c *Client) do(ctx context.Context, method, path string, in, out any) (int, string, error) {
	var body io.Reader
	if in != nil {
		// Storage format is XHTML full of "<" and "&": the encoder's
		// HTML escaping (\u003c, \u0026) would send each as six bytes
		// and bring a page twice as close to RequestLimit, for nothing.
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(in); err != nil {
			return 0, "", fmt.Errorf("encode request: %w", err)
		}
		body = &b
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, "", fmt.Errorf("build request: %w", err)
	}
	c.api.authorize(req, c.cfg)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var unavailable *outbound.UnavailableError
		if errors.As(err, &unavailable) {
			return 0, "", err
		}
		// Not through the outbound client: report it the same way.
		return 0, "", &outbound.UnavailableError{Provider: Target, Name: "Confluence", Cause: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, "", &outbound.UnavailableError{Provider: Target, Name: "Confluence", Status: resp.StatusCode, Cause: err}
	}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		if out != nil && len(raw) > 0 {
			if err := json.Unmarshal(raw, out); err != nil {
				return code, "", fmt.Errorf("decode response: %w", err)
			}
		}
		return code, "", nil
	case code == http.StatusUnauthorized, code == http.StatusForbidden, code == http.StatusTooManyRequests, code >= 500:
		return code, "", c.statusError(code, errorMessage(raw), resp.Header)
	default:
		return code, errorMessage(raw), nil
	}
}

// statusError maps a refused request to an error with an incident code.
func (c *Client) statusError(status int, msg string, h http.Header) error {
	switch {
	case status == http.StatusUnauthorized:
		return incident.Errorf(incident.EFORBIDDEN, "%s", c.api.unauthorized())
	case status == http.StatusForbidden:
		return incident.Errorf(incident.EFORBIDDEN,
			"The Confluence account may not add or edit pages in %s (HTTP 403): give it that permission in the space settings, or remove the page restrictions that stop it.", c.spaceName())
	case status == http.StatusNotFound:
		what := c.spaceName()
		if c.cfg.ParentID != "" {
			what += " or the parent page " + c.cfg.ParentID
		}
		return incident.Errorf(incident.ENOTFOUND,
			"Confluence cannot find the page or %s at %s: check them, and %s", what, c.base, c.api.notFoundHint())
	case status == http.StatusTooManyRequests:
		return &outbound.RateLimitedError{Provider: Target, Name: "Confluence", Wait: outbound.RetryAfterOr(h, c.now(), defaultRetryAfter)}
	case status >= 500:
		return &outbound.UnavailableError{Provider: Target, Name: "Confluence", Status: status, Attempts: 1}
	case status == http.StatusConflict:
		return incident.Errorf(incident.ECONFLICT, "Confluence refused the change as conflicting: %s", clip(msg))
	case status == http.StatusRequestEntityTooLarge:
		return incident.Errorf(incident.EINVALID,
			"The postmortem page is larger than Confluence accepts in one request (HTTP 413: %s). Unpin the longest pasted messages in the channel, then export again.", clip(msg))
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return incident.Errorf(incident.EINVALID, "Confluence rejected the page (HTTP %d): %s", status, clip(msg))
}

// errorMessage pulls the message out of Confluence's error bodies: v2's
// {"errors":[{"title":...,"detail":...}]} and v1's {"message":...}.
func errorMessage(raw []byte) string {
	var e struct {
		Errors []struct {
			Title  string `json:"title"`
			Detail string `json:"detail"`
		} `json:"errors"`
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return strings.TrimSpace(string(raw))
	}
	var parts []string
	for _, x := range e.Errors {
		if x.Title != "" {
			parts = append(parts, x.Title)
		}
		if x.Detail != "" {
			parts = append(parts, x.Detail)
		}
	}
	if e.Message != "" {
		parts = append(parts, e.Message)
	}
	return strings.Join(parts, "; ")
}

// clip keeps a provider's message short enough for a Slack reply.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 200 {
		s = string([]rune(s)[:199]) + "…"
	}
	return s
}
