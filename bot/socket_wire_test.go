package bot

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// TestSocketDialerThroughProxyAndTLS: over wss:// through an HTTP proxy
// (CONNECT, with the proxy's credentials), as Slack is reached from behind
// a corporate proxy, frames are still observed above TLS.
func TestSocketDialerThroughProxyAndTLS(t *testing.T) {
	slackSide := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"disconnect","reason":"warning","debug_info":{"host":"`+string(msg)+`"}}`))
		_, _, _ = ws.ReadMessage()
	}))
	defer slackSide.Close()

	var connects []string
	var mu sync.Mutex
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		connects = append(connects, r.Method+" "+r.Host+" "+r.Header.Get("Proxy-Authorization"))
		mu.Unlock()
		if r.Method != http.MethodConnect || r.Header.Get("Proxy-Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte("ops:s3cret")) {
			http.Error(w, "no", http.StatusProxyAuthRequired)
			return
		}
		upstream, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		client, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		_, _ = client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() { _, _ = io.Copy(upstream, buf.Reader); _ = upstream.Close() }()
		_, _ = io.Copy(client, upstream)
		_ = client.Close()
	}))
	defer proxy.Close()
	proxyURL, err := url.Parse(proxy.URL)
	require.NoError(t, err)
	proxyURL.User = url.UserPassword("ops", "s3cret")

	roots := x509.NewCertPool()
	roots.AddCert(slackSide.Certificate())
	log := &wireLog{}
	n := socketNet{proxy: http.ProxyURL(proxyURL), tls: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := n.dialer(log).DialContext(ctx, "wss"+strings.TrimPrefix(slackSide.URL, "https"), nil)
	require.NoError(t, err)
	defer ws.Close()
	require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte("wss-via-proxy")))
	_, _, err = ws.ReadMessage()
	require.NoError(t, err)

	writes, disconnects := log.counts()
	require.Equal(t, 1, writes)
	require.Equal(t, []string{"warning@wss-via-proxy"}, disconnects)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"CONNECT " + strings.TrimPrefix(slackSide.URL, "https://") + " Basic b3BzOnMzY3JldA=="}, connects)
}
