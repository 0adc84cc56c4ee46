package notify_test

import (
	"encoding/base64"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
)

// smtpMessage is what the test relay received in one transaction.
type smtpMessage struct {
	From string
	To   []string
	// Auth is the decoded AUTH PLAIN response: authzid NUL user NUL password.
	Auth string
	Data []byte
}

// smtpServer is a tiny in-process SMTP relay speaking enough of RFC 5321 for net/smtp:
// EHLO/HELO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT. No TLS.
type smtpServer struct {
	Addr     string
	Messages chan smtpMessage

	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

func newSMTPServer(t *testing.T) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtp test server: %v", err)
	}
	s := &smtpServer{Addr: ln.Addr().String(), Messages: make(chan smtpMessage, 16), ln: ln, conns: map[net.Conn]bool{}}
	s.wg.Go(s.accept)
	t.Cleanup(func() {
		_ = ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *smtpServer) accept() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[conn] = true
		s.mu.Unlock()
		s.wg.Go(func() {
			defer func() {
				s.mu.Lock()
				delete(s.conns, conn)
				s.mu.Unlock()
				_ = conn.Close()
			}()
			s.serve(textproto.NewConn(conn))
		})
	}
}

func (s *smtpServer) serve(tp *textproto.Conn) {
	reply := func(line string) bool { return tp.PrintfLine("%s", line) == nil }
	if !reply("220 127.0.0.1 firedrill test relay ESMTP") {
		return
	}
	var msg smtpMessage
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		ok := true
		switch strings.ToUpper(verb) {
		case "EHLO":
			ok = reply("250-127.0.0.1 hello") && reply("250-AUTH PLAIN") && reply("250 8BITMIME")
		case "HELO":
			ok = reply("250 127.0.0.1 hello")
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			if !strings.EqualFold(mech, "PLAIN") {
				ok = reply("504 5.5.4 unrecognised authentication type")
				break
			}
			if resp == "" {
				if !reply("334 ") {
					return
				}
				if resp, err = tp.ReadLine(); err != nil {
					return
				}
			}
			dec, err := base64.StdEncoding.DecodeString(resp)
			if err != nil {
				ok = reply("501 5.5.2 bad base64")
				break
			}
			msg.Auth = string(dec)
			ok = reply("235 2.7.0 authentication successful")
		case "MAIL":
			msg.From = angle(arg)
			ok = reply("250 2.1.0 ok")
		case "RCPT":
			msg.To = append(msg.To, angle(arg))
			ok = reply("250 2.1.5 ok")
		case "DATA":
			if !reply("354 end data with <CR><LF>.<CR><LF>") {
				return
			}
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			msg.Data = data
			s.Messages <- msg
			msg = smtpMessage{Auth: msg.Auth}
			ok = reply("250 2.0.0 queued")
		case "RSET":
			msg = smtpMessage{Auth: msg.Auth}
			ok = reply("250 2.0.0 ok")
		case "NOOP":
			ok = reply("250 2.0.0 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			ok = reply("502 5.5.2 command not recognised")
		}
		if !ok {
			return
		}
	}
}

// angle returns the address inside "FROM:<a@b> ..." or "TO:<a@b>".
func angle(arg string) string {
	_, rest, _ := strings.Cut(arg, "<")
	addr, _, _ := strings.Cut(rest, ">")
	return addr
}
