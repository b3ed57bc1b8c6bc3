package bot

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
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

// TestSocketDialerThroughSocks5: a socks5:// proxy, which slack-go's own
// dialer accepted, still works, with its user name and password.
func TestSocketDialerThroughSocks5(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			mt, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			_ = ws.WriteMessage(mt, msg)
		}
	}))
	defer echo.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	asked := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 512)
		read := func(n int) []byte { _, _ = io.ReadFull(c, buf[:n]); return buf[:n] }
		greet := read(2)
		methods := read(int(greet[1]))
		if !strings.ContainsRune(string(methods), 0x02) {
			_, _ = c.Write([]byte{0x05, 0xff})
			return
		}
		_, _ = c.Write([]byte{0x05, 0x02})
		ulen := int(read(2)[1])
		name := string(read(ulen))
		plen := int(read(1)[0])
		pass := string(read(plen))
		if name != "ops" || pass != "s3cret" {
			_, _ = c.Write([]byte{0x01, 0x01})
			return
		}
		_, _ = c.Write([]byte{0x01, 0x00})
		head := read(4)
		var host string
		switch head[3] {
		case 0x01:
			host = net.IP(read(4)).String()
		case 0x03:
			host = string(read(int(read(1)[0])))
		}
		port := read(2)
		target := net.JoinHostPort(host, fmt.Sprint(int(port[0])<<8|int(port[1])))
		asked <- target
		up, err := net.Dial("tcp", target)
		if err != nil {
			_, _ = c.Write([]byte{0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0})
			return
		}
		defer up.Close()
		_, _ = c.Write([]byte{0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0x04, 0x38})
		go func() { _, _ = io.Copy(up, c) }()
		_, _ = io.Copy(c, up)
	}()

	proxyURL := &url.URL{Scheme: "socks5", Host: ln.Addr().String(), User: url.UserPassword("ops", "s3cret")}
	log := &wireLog{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := socketNet{proxy: http.ProxyURL(proxyURL)}.dialer(log).DialContext(ctx, "ws"+strings.TrimPrefix(echo.URL, "http"), nil)
	require.NoError(t, err)
	defer ws.Close()
	require.Equal(t, strings.TrimPrefix(echo.URL, "http://"), <-asked)
	require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte("via socks")))
	_, msg, err := ws.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, "via socks", string(msg))
	writes, _ := log.counts()
	require.Equal(t, 1, writes)
}
