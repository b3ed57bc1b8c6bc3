package github_test

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// In an issue's or a pull request's title and body GitHub links "#26",
// "GH-26", "owner/repo#26", "user@sha", "owner/repo@sha" and a bare commit
// SHA to the issue, pull request or commit they name, and a reference to
// an issue or pull request shows on its timeline as "mentioned this". An
// incident channel's "step #2" or "see #3" means nothing in the
// repository, so the export sends none of them: the text reads the same,
// code and links are sent byte for byte, and the committed file, where
// GitHub makes no references, keeps them as typed.
func TestExportReferencesNothing(t *testing.T) {
	t.Parallel()
	const full = "0123456789abcdef0123456789abcdef01234567"
	markdown := strings.Join([]string{
		"# INC-42: Checkout is down after #3",
		"",
		"- 14:10 UTC, **Dev Patel**: step #2 of the runbook failed, see #3, acme/checkout#7 and gh-12 (octocat#4)",
		"- 14:12 UTC, **Dev Patel**: rolled back to 9f8e7d6 (from 1a2b3c4); acme/checkout@f95f852, octocat@f95f852a, " + full,
		"- 14:13 UTC, **firebreak**: deploy [1a2b3c4](https://github.com/acme/checkout/commit/" + full + ") in [#inc-42 (3)](https://acme.slack.com/archives/C042)",
		"- 14:14 UTC, **Dev Patel**: ran `git revert 1a2b3c4 #3` (https://example.com/runbook#3, https://github.com/acme/checkout/deployments/1)",
		"",
		"```",
		"#4 1a2b3c4d",
		"```",
		"",
		"| Action | Owner |",
		"|---|---|",
		"| Redo step #5 at _1a2b3c4_ | Dev Patel |",
		"",
	}, "\n")
	for _, mode := range []string{"pr", "issue"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			b := exportSetup(t, mode, true)
			doc := postmortem(markdown)
			doc.Title = "Checkout is down after #3"
			doc.ActionItems = []incident.ActionItem{{ID: 1, Text: "Redo step #2 of GH-12 at 1a2b3c4, not `#9`"}}

			_, err := b.client.Export(t.Context(), doc, nil)
			require.NoError(t, err)

			texts := b.fake.Texts()
			require.NotEmpty(t, texts)
			for _, tx := range texts {
				require.Empty(t, references(tx), "%s sent a reference in its %s:\n%s", tx.Call, tx.Field, tx.Text)
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
				require.Contains(t, visible(prs[0].Body), "Postmortem draft for INC-42: Checkout is down after #3.")
				file := b.fake.Files(docsRepo, "postmortem/inc-42")[mdPath]
				require.Equal(t, markdown, file, "GitHub makes no references in a repository's files: the file keeps them")
			} else {
				require.True(t, strings.HasPrefix(visible(document), markdown), "the issue reads the same:\n%s", document)
				for _, kept := range []string{
					"`git revert 1a2b3c4 #3`", "```\n#4 1a2b3c4d\n```",
					"[1a2b3c4](https://github.com/acme/checkout/commit/" + full + ")",
					"[#inc-42 (3)](https://acme.slack.com/archives/C042)",
					"https://example.com/runbook#3", "https://github.com/acme/checkout/deployments/1",
				} {
					require.Contains(t, document, kept, "sent byte for byte")
				}
			}
			require.Equal(t, "Postmortem: INC-42 Checkout is down after #3", visible(title))

			require.Equal(t, "Redo step #2 of GH-12 at 1a2b3c4, not `#9`", visible(item.Title))
			require.Contains(t, item.Title, "`#9`", "a title's code span is sent byte for byte")
			require.Contains(t, visible(item.Body), "Follow-up from INC-42: Checkout is down after #3.")
		})
	}
}

var (
	// referenceREs are the references GitHub autolinks in conversations
	// ("Autolinked references and URLs"): "#26" and, before it, "user" or
	// "owner/repo"; "GH-26"; and a commit SHA of at least seven hex digits,
	// alone or after "user@" or "owner/repo@". They are looser than
	// GitHub's: any "#" before a digit, and "_" does not join words.
	referenceREs = []*regexp.Regexp{
		regexp.MustCompile(`#[0-9]`),
		regexp.MustCompile(`(?i)(?:^|[^A-Za-z0-9])gh-[0-9]`),
		regexp.MustCompile(`(?:^|[^A-Za-z0-9])[0-9A-Fa-f]{7,}(?:[^A-Za-z0-9]|$)`),
	}
)

// references returns the references GitHub would autolink in a text the
// fake received: a body is rendered as GitHub Flavored Markdown and
// searched text node by text node outside code and links; a title, plain
// text but for its code spans, is searched outside them. A file's content
// and a commit's message make none here.
func references(tx ghfake.Text) []string {
	find := func(s string) (found []string) {
		for _, re := range referenceREs {
			found = append(found, re.FindAllString(s, -1)...)
		}
		return found
	}
	switch tx.Field {
	case "title":
		return find(codeSpan.ReplaceAllString(tx.Text, " "))
	case "content", "message":
		return nil
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
		found = append(found, find(html.UnescapeString(node))...)
	}
	return found
}
