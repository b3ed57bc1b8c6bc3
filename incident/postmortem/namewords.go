package postmortem

import "strings"

// nameWords are given names that are also everyday English words, many of
// them common in an incident write-up ("Will the deploy finish?", "Mark
// the alert resolved", "Grant access", "Page the DBA", "max connections",
// "a grace period", "round robin"). The blameless check flags a
// responder's first name that is one of these only next to blame wording
// (firstNameBlamed), so the review is not flooded with false alarms.
var nameWords = func() map[string]bool {
	const list = `
		angel amber april art ash aspen august autumn basil bay bear bill blaze blue bob bond brook buck bud
		candy carol cash chance chase cherry chip chuck clay cliff colt cooper crystal daisy dale dash dawn dean dev
		destiny don dot drew duke dusty earl echo eve ever faith fisher flint ford forest frank gale gene ginger
		glen grace grant gray grey guy hardy harmony hazel heath heather holly honey hope hunter iris ivy jack
		jade jay jean jewel journey joy june justice kit king lance lane lark lee liberty lily major mark marsh
		mason max may melody mercy miles miller misty nick noble norm olive page patience pat pearl penny pepper
		porter prince prudence rain ram raven ray reed rich river robin rob rocky rod rose royal ruby rusty sage
		sandy shade sky skip sol star sterling stone storm summer sunny tad trinity true van violet wade walker
		ward will willow wren`
	words := map[string]bool{}
	for _, w := range strings.Fields(list) {
		words[w] = true
	}
	return words
}()
