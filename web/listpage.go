package web

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// maxListScan bounds the incidents one request for a page of the list
// reads from the store. Visibility is decided after the read, so a viewer
// who may see few of the incidents (a guest, or among many private ones)
// gets a short page, even an empty one, and a cursor that goes on past
// those read; nobody's request reads the whole history.
const maxListScan = 2000

// listPage is one page of the incident list as a viewer sees it: newest
// first, by declared time, then by ID.
type listPage struct {
	Incidents []*incident.Incident
	// Next is where the following page starts; nil when this page is the
	// last. A page shorter than asked with a Next stopped at maxListScan.
	Next *incident.ListCursor
	// Partial says Slack could not say which channels the viewer is in:
	// the private incidents they are not named in were left out, whether
	// or not they are in the channel.
	Partial bool
}

// readPage reads the page of f that userID may see: up to limit incidents
// after f.After, newest first. The store returns rows newest first with a
// LIMIT; the incidents userID may not see are dropped after the read
// (Visible), so it reads on, in growing batches, until it holds one
// incident more than the page (which says a next page exists), the store
// has no more, or it has read maxListScan rows.
func (s *site) readPage(ctx context.Context, userID string, f incident.IncidentFilter, limit int) (listPage, error) {
	f.Order = incident.OrderNewest
	var (
		shown   []*incident.Incident
		partial bool
	)
	read, batch := 0, limit+1 // the first batch reads just enough when every incident shows
	for {
		f.Limit = min(batch, maxListScan-read)
		rows, err := s.cfg.Reader.ListIncidents(ctx, f)
		if err != nil {
			return listPage{}, err
		}
		read += len(rows)
		vis, unsure, err := s.visible(ctx, userID, rows)
		if err != nil {
			return listPage{}, err
		}
		shown, partial = append(shown, vis...), partial || unsure
		switch {
		case len(shown) > limit:
			return listPage{Incidents: shown[:limit], Next: incident.CursorOf(shown[limit-1]), Partial: partial}, nil
		case len(rows) < f.Limit:
			return listPage{Incidents: shown, Partial: partial}, nil
		case read >= maxListScan:
			// Every row read is shown or hidden: the next page starts
			// after the last of them.
			return listPage{Incidents: shown, Next: incident.CursorOf(rows[len(rows)-1]), Partial: partial}, nil
		}
		f.After = incident.CursorOf(rows[len(rows)-1])
		// Few rows show: read more at a time, so a viewer who sees
		// little costs a few reads (and a few checks with Slack), not
		// one per page's worth.
		batch = max(4*batch, 250)
	}
}

// A cursor is sealed (AES-GCM) rather than written in the clear: a page
// that stops after reading maxListScan incidents the viewer may not see
// goes on after the last of them, and a hidden incident's ID and declared
// time must not reach the viewer through its cursor. Sealing also refuses
// any cursor the list did not hand out. The key comes from the Slack
// client secret, which every replica shares and which outlives a restart.
type cursorSealer struct{ aead cipher.AEAD }

func newCursorSealer(secret string) *cursorSealer {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("firebreak list cursor"))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		panic("web: cursor key: " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("web: cursor cipher: " + err.Error())
	}
	return &cursorSealer{aead: aead}
}

// encode writes c as the list's cursor parameter: opaque to callers, the
// declared time in microseconds (what the stores keep) and the ID, sealed.
func (cs *cursorSealer) encode(c *incident.ListCursor) string {
	text := strconv.FormatInt(c.DeclaredAt.UnixMicro(), 10) + "." + strconv.FormatInt(c.ID, 10)
	nonce := make([]byte, cs.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("web: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(cs.aead.Seal(nonce, nonce, []byte(text), nil))
}

// badCursor answers a cursor the list did not hand out.
func badCursor() error {
	return incident.Errorf(incident.EINVALID, "The cursor is not one this list handed out; leave it out to start from the newest incidents.")
}

// parse reads a cursor encode wrote.
func (cs *cursorSealer) parse(text string) (*incident.ListCursor, error) {
	sealed, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil || len(sealed) < cs.aead.NonceSize() {
		return nil, badCursor()
	}
	n := cs.aead.NonceSize()
	raw, err := cs.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return nil, badCursor()
	}
	micros, id, ok := strings.Cut(string(raw), ".")
	if !ok {
		return nil, badCursor()
	}
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return nil, badCursor()
	}
	n64, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n64 <= 0 {
		return nil, badCursor()
	}
	return &incident.ListCursor{DeclaredAt: time.UnixMicro(us).UTC(), ID: n64}, nil
}
