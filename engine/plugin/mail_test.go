package plugin

import (
	"bufio"
	"context"
	"encoding/base64"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// fakeSMTP is a tiny SMTP server: enough of RFC 5321 for go-mail to send
// one message (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT).
type fakeSMTP struct {
	ln    net.Listener
	mu    sync.Mutex
	auth  string // the decoded AUTH PLAIN response
	from  string
	rcpts []string
	data  string
	addrs []string // what each dial asked for
}

func newFakeSMTP(t *testing.T) *fakeSMTP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSMTP{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	return f
}

// dial is Options.SMTPDial: every address reaches the fake.
func (f *fakeSMTP) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	f.mu.Lock()
	f.addrs = append(f.addrs, addr)
	f.mu.Unlock()
	var d net.Dialer
	return d.DialContext(ctx, "tcp", f.ln.Addr().String())
}

func (f *fakeSMTP) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(s string) { c.Write([]byte(s + "\r\n")) }
	say("220 fake ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		cmd := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			say("250-fake")
			say("250-AUTH PLAIN")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "HELO"):
			say("250 fake")
		case strings.HasPrefix(cmd, "AUTH PLAIN"):
			resp := strings.TrimSpace(line[len("AUTH PLAIN"):])
			if resp == "" {
				say("334 ")
				resp, _ = r.ReadString('\n')
				resp = strings.TrimSpace(resp)
			}
			b, _ := base64.StdEncoding.DecodeString(resp)
			f.mu.Lock()
			f.auth = string(b)
			f.mu.Unlock()
			say("235 2.7.0 ok")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			f.mu.Lock()
			f.from = line[len("MAIL FROM:"):]
			f.mu.Unlock()
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			f.mu.Lock()
			f.rcpts = append(f.rcpts, line[len("RCPT TO:"):])
			f.mu.Unlock()
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			f.mu.Lock()
			f.data = b.String()
			f.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default: // RSET, NOOP
			say("250 ok")
		}
	}
}

func TestMailSend(t *testing.T) {
	const password = "mail-Pa55word!"
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		smtp := newFakeSMTP(t)
		e := newEnv(t, db, Options{SMTPDial: smtp.dial})
		e.install(t, manifest("mailer", []string{"smtp.example.com"}, "", `[{"name": "send", "input": {"type": "object"}}]`), `
function send(input) {
  return mail.send({host: input.host || "smtp.example.com", port: input.port || 587, tls: input.tls || "none", username: "bot@example.com",
    password: secrets.get("token"), from: "Forma <bot@example.com>", to: ["rep@example.com"], cc: input.cc || [],
    subject: "New lead", text: "Acme wants a quote", html: "<p>Acme wants a <b>quote</b></p>"});
}`)
		e.configure(t, "sales", "mailer", nil, map[string]string{"token": password}, true)
		ctx := context.Background()
		out, err := e.s.Call(ctx, "sales", "mailer", "send", map[string]any{"cc": []any{"boss@example.com"}}, CallMeta{})
		if err != nil {
			t.Fatal(err)
		}
		if id, _ := out["messageId"].(string); id == "" {
			t.Errorf("output %v", out)
		}
		smtp.mu.Lock()
		if smtp.addrs[0] != "smtp.example.com:587" || smtp.auth != "\x00bot@example.com\x00"+password ||
			!strings.Contains(smtp.from, "bot@example.com") || len(smtp.rcpts) != 2 ||
			!strings.Contains(smtp.data, "Subject: New lead") || !strings.Contains(smtp.data, "Acme wants a quote") || !strings.Contains(smtp.data, "text/html") {
			t.Errorf("smtp got addrs %v auth %q from %q rcpts %v data:\n%s", smtp.addrs, smtp.auth, smtp.from, smtp.rcpts, smtp.data)
		}
		smtp.mu.Unlock()
		if c := lastCall(t, e.s, "sales", "mailer"); c.Status != "ok" || c.Requests != 1 {
			t.Errorf("call %+v", c)
		}
		// An undeclared host or port is refused before any connection.
		for _, in := range []map[string]any{{"host": "smtp.evil.com"}, {"port": 2525}} {
			_, err := e.s.Call(ctx, "sales", "mailer", "send", in, CallMeta{})
			if pe := asError(t, err); pe.Kind != KindRefused || !strings.Contains(pe.Message, "is not declared by plugin mailer") {
				t.Errorf("%v: %+v", in, pe)
			}
		}
		// A login in the clear goes only to a server the admin allowed as private.
		e.configure(t, "sales", "mailer", nil, map[string]string{"token": password}, false)
		_, err = e.s.Call(ctx, "sales", "mailer", "send", map[string]any{}, CallMeta{})
		if pe := asError(t, err); pe.Kind != KindRefused || !strings.Contains(pe.Message, "without TLS") {
			t.Errorf("clear login: %+v", pe)
		}
		// STARTTLS that the server does not offer fails as a remote error.
		_, err = e.s.Call(ctx, "sales", "mailer", "send", map[string]any{"tls": "starttls"}, CallMeta{})
		if pe := asError(t, err); pe.Kind != KindRemote || !pe.Retry {
			t.Errorf("starttls: %+v", pe)
		}
		smtp.mu.Lock()
		dials := len(smtp.addrs)
		smtp.mu.Unlock()
		if dials != 2 {
			t.Errorf("dialled %d times, want 2 (the refusals must not connect)", dials)
		}
		calls, _ := e.s.Calls(ctx, "sales", "mailer", 50)
		for _, c := range calls {
			if strings.Contains(c.Error+strings.Join(c.Logs, ""), password) {
				t.Errorf("password in the call log: %+v", c)
			}
		}
		if strings.Contains(e.logs.String(), password) {
			t.Error("password in the server log")
		}
	})
}

func TestMailToPrivateAddressRefused(t *testing.T) {
	e := newEnv(t, nil, Options{Resolve: func(ctx context.Context, host string) ([]string, error) { return []string{"10.0.0.5"}, nil }})
	e.install(t, manifest("mailer", []string{"smtp.example.com:465"}, "", `[{"name": "send"}]`), `
function send() { return mail.send({host: "smtp.example.com", port: 465, tls: "ssl", from: "a@example.com", to: ["b@example.com"], subject: "s", text: "t"}) }`)
	e.configure(t, "sales", "mailer", nil, nil, false)
	_, err := e.s.Call(context.Background(), "sales", "mailer", "send", nil, CallMeta{})
	if pe := asError(t, err); pe.Kind != KindRefused || !strings.Contains(pe.Message, "not public") {
		t.Errorf("%+v", pe)
	}
}
