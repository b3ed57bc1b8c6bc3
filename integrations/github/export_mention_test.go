package github_test

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// zwsp is what the export puts between an "@" and a name so that GitHub
// does not read a mention there; it shows as nothing.
const zwsp = "\u200b"

// A postmortem carries what people typed in Slack, and GitHub notifies
// whoever an issue or pull request mentions as @login or @org/team. The
// bot posts with its own token, so nothing it sends may mention anyone:
// not a captured message's "cc @acme/security", not an owner whose Slack
// name is "@octocat". The text reads the same, an e-mail address and code
// are sent byte for byte, the links still lead where they did, and the
// owner's mapped login is still assigned.
func TestExportMentionsNobody(t *testing.T) {
	t.Parallel()
	markdown := strings.Join([]string{
		"# INC-42: Checkout is down, cc @acme/security",
		"",
		"- 14:10 UTC, **@octocat**: the pool is full, cc @acme/security; mail ops@example.com",
		"- 14:12 UTC, **Dev Patel**: ran `@keep` as told (see https://example.com/@octocat)",
		"",
		"```",
		"@keep in a fenced block",
		"```",
		"",
		"| Action | Owner |",
		"|---|---|",
		"| Ask @octocat to page @acme/security ([issue](https://github.com/acme/checkout/issues/7)) | @octocat |",
		"",
	}, "\n")
	for _, mode := range []string{"pr", "issue"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			b := exportSetup(t, mode, true)
			doc := postmortem(markdown)
			doc.Title = "Checkout is down, cc @acme/security"
			doc.ActionItems = []incident.ActionItem{{ID: 1, Text: "Ask @octocat to check `@keep` with ops@example.com", Owner: "U0OCTO"}}
			doc.OwnerNames = map[string]string{"U0OCTO": "@octocat"}
			doc.GitHubLogins = map[string]string{"U0OCTO": "octo-cat"}

			_, err := b.client.Export(t.Context(), doc, nil)
			require.NoError(t, err)

			texts := b.fake.Texts()
			require.NotEmpty(t, texts)
			for _, tx := range texts {
				require.Empty(t, mentions(tx), "%s sent a mention in its %s:\n%s", tx.Call, tx.Field, tx.Text)
			}

			var document, title string
			var item ghfake.Issue
			for _, is := range b.fake.Issues(docsRepo) {
				if strings.Contains(is.Title, "Postmortem") {
					document, title = is.Body, is.Title
				} else {
					item = is
				}
			}
			if mode == "pr" {
				prs := b.fake.PullRequests(docsRepo)
				require.Len(t, prs, 1)
				title = prs[0].Title
				document = b.fake.Files(docsRepo, "postmortem/inc-42")[mdPath]
				require.Contains(t, visible(prs[0].Body), "Postmortem draft for INC-42: Checkout is down, cc @acme/security.")
				require.Contains(t, prs[0].Body, "`"+mdPath+"`", "firebreak's own code span is kept")
			}
			require.Equal(t, "Postmortem: INC-42 Checkout is down, cc @acme/security", visible(title))
			require.True(t, strings.HasPrefix(visible(document), markdown), "the document reads the same:\n%s", document)
			for _, kept := range []string{
				"mail ops@example.com", "ran `@keep` as told", "```\n@keep in a fenced block\n```",
				"(see https://example.com/@octocat)", "([issue](https://github.com/acme/checkout/issues/7))",
			} {
				require.Contains(t, document, kept, "sent byte for byte")
			}

			require.Equal(t, "Ask @octocat to check `@keep` with ops@example.com", visible(item.Title))
			require.Contains(t, item.Title, "`@keep` with ops@example.com")
			require.Contains(t, visible(item.Body), "Follow-up from INC-42: Checkout is down, cc @acme/security.")
			require.Contains(t, visible(item.Body), "Owner: @octocat (@octo-cat)")
			require.Equal(t, []string{"octo-cat"}, item.Assignees, "the policy's login is assigned, not mentioned")
		})
	}
}

// visible is text as GitHub shows it: without the zero-width spaces.
func visible(s string) string { return strings.ReplaceAll(s, zwsp, "") }

var (
	// mentionRE is GitHub's mention, @login or @org/team, after the start
	// of a text node or a character that is not a letter or digit
	// (stricter than GitHub, which also takes "_" as part of a word).
	mentionRE = regexp.MustCompile(`(?:^|[^A-Za-z0-9])@[A-Za-z0-9][A-Za-z0-9-]*(?:/[A-Za-z0-9][A-Za-z0-9_-]*)?`)
	// GitHub looks for mentions in the text of the rendered HTML, outside
	// code, preformatted text and links.
	notSearched = []*regexp.Regexp{
		regexp.MustCompile(`(?s)<pre\b.*?</pre>`),
		regexp.MustCompile(`(?s)<code\b.*?</code>`),
		regexp.MustCompile(`(?s)<a\b[^>]*>.*?</a>`),
	}
	tag      = regexp.MustCompile(`<[^>]*>`)
	codeSpan = regexp.MustCompile("`[^`]*`")
	renderer = goldmark.New(goldmark.WithExtensions(extension.GFM, extension.Footnote),
		goldmark.WithRendererOptions(gmhtml.WithUnsafe()))
)

// mentions returns the mentions GitHub would find in a text the fake
// received: a body is rendered as GitHub Flavored Markdown, raw HTML
// included, and searched text node by text node; a title, which GitHub
// renders only as code spans, is searched outside them.
func mentions(tx ghfake.Text) []string {
	if tx.Field == "title" {
		return mentionRE.FindAllString(codeSpan.ReplaceAllString(tx.Text, " "), -1)
	}
	if tx.Field == "message" {
		return nil // a commit message notifies nobody
	}
	var out bytes.Buffer
	if err := renderer.Convert([]byte(tx.Text), &out); err != nil {
		return []string{err.Error()}
	}
	s := out.String()
	for _, re := range notSearched {
		s = re.ReplaceAllString(s, "\n")
	}
	var found []string
	for _, node := range strings.Split(tag.ReplaceAllString(s, "\n"), "\n") {
		found = append(found, mentionRE.FindAllString(html.UnescapeString(node), -1)...)
	}
	return found
}
