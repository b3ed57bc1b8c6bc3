package bot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

// wireLog records what an observed connection reports.
type wireLog struct {
	mu          sync.Mutex
	writes      int
	disconnects []string
}

func (w *wireLog) written() { w.mu.Lock(); w.writes++; w.mu.Unlock() }

func (w *wireLog) disconnect(reason, host string) {
	w.mu.Lock()
	w.disconnects = append(w.disconnects, reason+"@"+host)
	w.mu.Unlock()
}

func (w *wireLog) counts() (int, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes, append([]string(nil), w.disconnects...)
}

// TestSocketDialerObservesFrames: through the transport's dialer, each
// message the client writes is counted once it has gone whole, whatever its
// size (one frame, or several when it passes the write buffer), pings and
// pongs are not, and a disconnect Slack sends is recognised also when it
// comes in fragments with a ping between them; other messages are not taken
// for one.
func TestSocketDialerObservesFrames(t *testing.T) {
	received := make(chan string, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := websocket.Upgrader{WriteBufferSize: 64} // splits what the server sends into frames
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","debug_info":{"host":"h0"}}`))
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"events_api","payload":{"text":"\"disconnect\""}}`))
		fw, _ := ws.NextWriter(websocket.TextMessage)
		_, _ = fw.Write([]byte(`{"type":"disconnect","reason":"too_many_websockets",`))
		_ = ws.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(time.Second))
		_, _ = fw.Write([]byte(`"debug_info":{"host":"applink-1"},"padding":"` + strings.Repeat("x", 200) + `"}`))
		_ = fw.Close()
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			received <- string(msg)
		}
	}))
	defer srv.Close()

	log := &wireLog{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := socketDialer(log).DialContext(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	require.NoError(t, err)
	defer ws.Close()
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()

	sizes := []int{0, 10, 125, 126, 300, 65535, 65536, 70000}
	for _, n := range sizes {
		require.NoError(t, ws.WriteControl(websocket.PingMessage, []byte("x"), time.Now().Add(time.Second)))
		require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("a", n))))
		require.Len(t, <-received, n)
	}
	require.Eventually(t, func() bool {
		writes, disconnects := log.counts()
		return writes == len(sizes) && len(disconnects) == 1
	}, 2*time.Second, time.Millisecond)
	_, disconnects := log.counts()
	require.Equal(t, []string{"too_many_websockets@applink-1"}, disconnects)
}
