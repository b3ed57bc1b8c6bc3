package paging

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/firebreakhq/firebreak/incident"
)

// keys names the bot's pages at the provider. A page's dedup key is
// firebreak-<installation>-<incident id>-<service>, with -r<round> for a
// page sent again: the installation's id, kept in the database, tells this
// installation's pages from those of another on the same PagerDuty account
// (staging beside production) and from those of the same bot on a database
// made anew, whose incident ids start again at 1 (ADR 0059). Pages sent
// before installations were named keep their keys,
// firebreak-<incident id>-<service>, and are known by them still.
type keys struct {
	store Store

	mu sync.Mutex
	id string // the installation's id, once read
}

// installation returns this installation's id, read from the store once.
func (k *keys) installation(ctx context.Context) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.id != "" {
		return k.id, nil
	}
	id, err := k.store.InstallationID(ctx)
	if err != nil {
		return "", fmt.Errorf("name the page: %w", err)
	}
	k.id = id
	return id, nil
}

// page is the dedup key of an incident's page of a service in a round.
func (k *keys) page(ctx context.Context, incidentID int64, service string, round int) (string, error) {
	id, err := k.installation(ctx)
	if err != nil {
		return "", err
	}
	return "firebreak-" + id + "-" + strings.TrimPrefix(legacyKey(incidentID, service, round), "firebreak-"), nil
}

// legacyKey is a page's dedup key as the bot made it before installations
// were named: firebreak-<incident id>-<service>[-r<round>]. It still names
// the jobs of a page and the records of its failures, which are this
// database's own.
func legacyKey(incidentID int64, service string, round int) string {
	k := fmt.Sprintf("firebreak-%d-%s", incidentID, service)
	if round > 0 {
		k += fmt.Sprintf("-r%d", round)
	}
	return k
}

// of returns the dedup key of the page p asks for: the key it names (a page
// the incident has, such as the provider's incident it was declared from),
// else the key its round has, as the incident's pages know it (a page sent
// before installations were named keeps its key), else a new key.
func (k *keys) of(ctx context.Context, incidentID int64, p pagePayload) (string, error) {
	for _, ref := range []string{p.Key, legacyKey(incidentID, p.Service, p.Round)} {
		if ref == "" {
			continue
		}
		page, err := k.store.FindPage(ctx, "pagerduty", ref)
		switch {
		case err == nil && page.IncidentID == incidentID && page.DedupKey == ref:
			return ref, nil
		case err != nil && incident.ErrorCode(err) != incident.ENOTFOUND:
			return "", fmt.Errorf("find the page %s: %w", ref, err)
		}
	}
	return k.page(ctx, incidentID, p.Service, p.Round)
}

// nextRound is the round of a new page of service for an incident with
// these pages: as many as the pages of the service it has, and no less
// than atLeast, past every round whose key one of them holds already.
func (k *keys) nextRound(ctx context.Context, incidentID int64, service string, pages []incident.Page, atLeast int) (int, error) {
	held := map[string]bool{}
	round := 0
	for _, p := range pages {
		if p.Service == service {
			held[p.DedupKey] = true
			round++
		}
	}
	round = max(round, atLeast)
	for {
		key, err := k.page(ctx, incidentID, service, round)
		if err != nil {
			return 0, err
		}
		if !held[key] && !held[legacyKey(incidentID, service, round)] {
			return round, nil
		}
		round++
	}
}

// incident returns the id of the incident a dedup key names when it is a
// key of this installation's, in either form; ok is false for any other
// key (another installation's, or the provider's own).
func (k *keys) incident(ctx context.Context, dedupKey string) (id int64, ok bool, err error) {
	rest, found := strings.CutPrefix(dedupKey, "firebreak-")
	if !found {
		return 0, false, nil
	}
	inst, err := k.installation(ctx)
	if err != nil {
		return 0, false, err
	}
	// Ours of today, or one from before installations were named, whose
	// first part is the incident's id: an installation's id is letters.
	rest = strings.TrimPrefix(rest, inst+"-")
	num, _, found := strings.Cut(rest, "-")
	id, perr := strconv.ParseInt(num, 10, 64)
	if !found || perr != nil || id <= 0 {
		return 0, false, nil
	}
	return id, true, nil
}
