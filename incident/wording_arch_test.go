package incident_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Slack wording the domain must not contain: it says what happened in
// typed notices, and the transport words them.
var slackWording = map[string]*regexp.Regexp{
	"an emoji shortcode":  regexp.MustCompile(`(^|[^A-Za-z0-9]):[a-z0-9_+-]{2,}:($|[^A-Za-z0-9])`),
	"a mention or link":   regexp.MustCompile(`<[@!#]`),
	"mrkdwn bold":         regexp.MustCompile(`(^|[\s(])\*[^*\s][^*\n]*\*($|[\s.,:;)])`),
	"a mrkdwn quote line": regexp.MustCompile(`\n>`),
}

// featurePackages are the feature packages split out of package incident;
// their strings are scanned too.
var featurePackages = []string{"alerts", "capture", "changes", "comms", "followthrough", "paging", "postmortem"}

// notYetNotices are the files of package incident (and of its feature
// packages, by relative path) whose messages are still
// worded in the domain; each moves to notices in turn, and the test fails
// for a file listed here that no longer needs to be.
var notYetNotices = map[string]bool{}

// TestNoSlackWordingInTheDomain scans every string literal of package
// incident and of its feature packages for Slack markup.
func TestNoSlackWordingInTheDomain(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, dir := range featurePackages {
		more, err := filepath.Glob(filepath.Join(dir, "*.go"))
		require.NoError(t, err)
		require.NotEmpty(t, more, dir)
		files = append(files, more...)
	}
	var offenders []string
	clean := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, f, src, 0)
		require.NoError(t, err)
		found := false
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for what, re := range slackWording {
				if re.MatchString(s) {
					found = true
					if !notYetNotices[f] {
						offenders = append(offenders, fset.Position(lit.Pos()).String()+": "+what+" in "+lit.Value)
					}
				}
			}
			return true
		})
		clean[f] = !found
	}
	sort.Strings(offenders)
	require.Empty(t, offenders, "the domain emits notices; the transport words them")
	for f := range notYetNotices {
		require.False(t, clean[f], "%s no longer words messages: take it off notYetNotices", f)
	}
}
