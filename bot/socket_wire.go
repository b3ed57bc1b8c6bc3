package bot

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	xproxy "golang.org/x/net/proxy"
)

// The Socket Mode client (slack-go) writes acknowledgements from a goroutine
// of its own and tells no one when a write is done, and it keeps Slack's
// disconnect messages to itself. The transport learns both from the
// connection underneath: socketWire dials the WebSocket, and reads the
// frames (RFC 6455) going each way as they pass, without changing a byte.

// socketWireObserver is told what passes on a Socket Mode connection.
type socketWireObserver interface {
	// written is called once a message the client sent has been handed to
	// the network whole.
	written()
	// disconnect is called when Slack sends {"type":"disconnect"}.
	disconnect(reason, host string)
}

// socketDialer returns the WebSocket dialer of a Socket Mode client: slack-go's
// own settings (a write buffer above Slack's 20 KB message limit, so every
// answer goes in one frame; the proxy from the environment), with connections
// observed by obs.
func socketDialer(obs socketWireObserver) *websocket.Dialer {
	return socketNet{proxy: http.ProxyFromEnvironment}.dialer(obs)
}

// socketNet is how a Socket Mode connection reaches Slack.
type socketNet struct {
	proxy func(*http.Request) (*url.URL, error)
	tls   *tls.Config // nil for the system's roots
}

func (n socketNet) dialer(obs socketWireObserver) *websocket.Dialer {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &websocket.Dialer{
		HandshakeTimeout: 45 * time.Second,
		WriteBufferSize:  32 * 1024,
		// The proxy is applied in dialTCP: gorilla would otherwise hand the
		// proxy's address to NetDialTLSContext.
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := n.dialTCP(ctx, d, "http", network, addr)
			if err != nil {
				return nil, err
			}
			return observe(conn, obs), nil
		},
		NetDialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := n.dialTCP(ctx, d, "https", network, addr)
			if err != nil {
				return nil, err
			}
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				host = addr
			}
			cfg := &tls.Config{MinVersion: tls.VersionTLS12}
			if n.tls != nil {
				cfg = n.tls.Clone()
			}
			cfg.ServerName = host
			tc := tls.Client(conn, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				_ = conn.Close()
				return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
			}
			return observe(tc, obs), nil
		},
	}
}

// dialTCP connects to addr, through the HTTP proxy named for scheme://addr
// if there is one (from the environment: HTTPS_PROXY, HTTP_PROXY, NO_PROXY).
func (n socketNet) dialTCP(ctx context.Context, d *net.Dialer, scheme, network, addr string) (net.Conn, error) {
	proxy, err := n.proxy(&http.Request{URL: &url.URL{Scheme: scheme, Host: addr}})
	if err != nil {
		return nil, fmt.Errorf("proxy for %s: %w", addr, err)
	}
	if proxy == nil {
		return d.DialContext(ctx, network, addr)
	}
	var defaultPort string
	switch proxy.Scheme {
	case "http", "":
		defaultPort = "80"
	case "socks5", "socks5h":
		defaultPort = "1080"
	default:
		return nil, fmt.Errorf("proxy %s: Socket Mode goes through an http:// or socks5:// proxy only", proxy.Redacted())
	}
	proxyAddr := proxy.Host
	if proxy.Port() == "" {
		proxyAddr = net.JoinHostPort(proxy.Hostname(), defaultPort)
	}
	if defaultPort == "1080" {
		var auth *xproxy.Auth
		if u := proxy.User; u != nil {
			pass, _ := u.Password()
			auth = &xproxy.Auth{User: u.Username(), Password: pass}
		}
		socks, err := xproxy.SOCKS5("tcp", proxyAddr, auth, d)
		if err != nil {
			return nil, fmt.Errorf("proxy %s: %w", proxy.Redacted(), err)
		}
		conn, err := socks.(xproxy.ContextDialer).DialContext(ctx, network, addr)
		if err != nil {
			return nil, fmt.Errorf("proxy %s: %w", proxy.Redacted(), err)
		}
		return conn, nil
	}
	conn, err := d.DialContext(ctx, network, proxyAddr)
	if err != nil {
		return nil, fmt.Errorf("dial proxy %s: %w", proxy.Redacted(), err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
		defer func() { _ = conn.SetDeadline(time.Time{}) }()
	}
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: addr}, Host: addr, Header: http.Header{}}
	if u := proxy.User; u != nil {
		pass, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pass)))
	}
	if err := req.Write(conn); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("proxy %s: %w", proxy.Redacted(), err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("proxy %s: %w", proxy.Redacted(), err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || br.Buffered() > 0 {
		_ = conn.Close()
		return nil, fmt.Errorf("proxy %s refused CONNECT %s: %s", proxy.Redacted(), addr, resp.Status)
	}
	return conn, nil
}

// observe wraps conn so that obs hears of the messages written and of
// Slack's disconnect messages read.
func observe(conn net.Conn, obs socketWireObserver) net.Conn {
	c := &observedConn{Conn: conn}
	c.out.onMessage = func(opcode byte, _ []byte) {
		if opcode == websocket.TextMessage || opcode == websocket.BinaryMessage {
			obs.written()
		}
	}
	c.in.keep = maxWatchedMessage
	c.in.onMessage = func(opcode byte, payload []byte) {
		if opcode != websocket.TextMessage || !bytes.Contains(payload, []byte(`"disconnect"`)) {
			return
		}
		var m struct {
			Type      string `json:"type"`
			Reason    string `json:"reason"`
			DebugInfo struct {
				Host string `json:"host"`
			} `json:"debug_info"`
		}
		if json.Unmarshal(payload, &m) == nil && m.Type == "disconnect" {
			obs.disconnect(m.Reason, m.DebugInfo.Host)
		}
	}
	return c
}

// maxWatchedMessage is the largest message read whose content is looked
// at: a disconnect is a few hundred bytes, and envelopes, which can be
// large, are only passed on.
const maxWatchedMessage = 4 << 10

// observedConn is a client's WebSocket connection seen frame by frame.
// gorilla reads from one goroutine and serialises its writes; the locks
// only keep the scanners safe should that change.
type observedConn struct {
	net.Conn
	inMu, outMu sync.Mutex
	in, out     frameScanner
}

func (c *observedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.inMu.Lock()
	c.in.feed(p[:n])
	c.inMu.Unlock()
	return n, err
}

func (c *observedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.outMu.Lock()
	c.out.feed(p[:n])
	c.outMu.Unlock()
	return n, err
}

// frameScanner follows a stream of WebSocket frames fed to it in pieces of
// any size and reports each data message once its last byte has passed.
type frameScanner struct {
	// keep is how many bytes of a message's payload to collect; a longer
	// message is reported with a nil payload.
	keep      int
	onMessage func(opcode byte, payload []byte)

	hdr       [14]byte
	hdrLen    int
	inPayload bool
	remaining uint64
	fin       bool
	opcode    byte
	masked    bool
	key       [4]byte
	offset    uint64 // position in the frame's payload, for unmasking

	msgOpcode byte
	msg       []byte
	tooLong   bool

	// framing is set once the HTTP upgrade (request or response), which
	// ends with an empty line, has passed: frames follow it.
	framing  bool
	httpTail uint32 // the last four bytes of the upgrade
}

func (s *frameScanner) feed(p []byte) {
	for len(p) > 0 {
		if !s.framing {
			b := p[0]
			p = p[1:]
			s.httpTail = s.httpTail<<8 | uint32(b)
			s.framing = s.httpTail == 0x0d0a0d0a // "\r\n\r\n"
			continue
		}
		if !s.inPayload {
			p = s.header(p)
			continue
		}
		n := min(uint64(len(p)), s.remaining)
		chunk := p[:n]
		p = p[n:]
		if s.opcode < 0x8 && !s.tooLong {
			if len(s.msg)+len(chunk) > s.keep {
				s.tooLong, s.msg = true, s.msg[:0]
			} else {
				for i, b := range chunk {
					if s.masked {
						b ^= s.key[(s.offset+uint64(i))%4]
					}
					s.msg = append(s.msg, b)
				}
			}
		}
		s.offset += n
		s.remaining -= n
		if s.remaining == 0 {
			s.frameDone()
		}
	}
}

// header collects the bytes of a frame header and returns what is left of p.
func (s *frameScanner) header(p []byte) []byte {
	for len(p) > 0 {
		need := 2
		if s.hdrLen >= 2 {
			need = 2 + extendedLength(s.hdr[1]&0x7f)
			if s.hdr[1]&0x80 != 0 {
				need += 4
			}
		}
		if s.hdrLen < need {
			s.hdr[s.hdrLen] = p[0]
			s.hdrLen++
			p = p[1:]
			continue
		}
		break
	}
	if s.hdrLen < 2 {
		return p
	}
	ext := extendedLength(s.hdr[1] & 0x7f)
	size := 2 + ext
	if s.hdr[1]&0x80 != 0 {
		size += 4
	}
	if s.hdrLen < size {
		return p
	}
	s.fin = s.hdr[0]&0x80 != 0
	s.opcode = s.hdr[0] & 0x0f
	s.masked = s.hdr[1]&0x80 != 0
	switch ext {
	case 0:
		s.remaining = uint64(s.hdr[1] & 0x7f)
	case 2:
		s.remaining = uint64(binary.BigEndian.Uint16(s.hdr[2:4]))
	case 8:
		s.remaining = binary.BigEndian.Uint64(s.hdr[2:10])
	}
	if s.masked {
		copy(s.key[:], s.hdr[2+ext:size])
	}
	s.hdrLen, s.offset, s.inPayload = 0, 0, true
	if s.opcode != 0 && s.opcode < 0x8 {
		s.msgOpcode, s.msg, s.tooLong = s.opcode, s.msg[:0], false
	}
	if s.remaining == 0 {
		s.frameDone()
	}
	return p
}

// frameDone ends a frame, and with its last frame a data message.
func (s *frameScanner) frameDone() {
	s.inPayload = false
	if s.opcode >= 0x8 || !s.fin || s.onMessage == nil {
		return
	}
	var payload []byte
	if !s.tooLong {
		payload = s.msg
	}
	s.onMessage(s.msgOpcode, payload)
}

// extendedLength is how many bytes follow the 7-bit length code.
func extendedLength(code byte) int {
	switch code {
	case 126:
		return 2
	case 127:
		return 8
	}
	return 0
}
