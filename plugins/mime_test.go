package plugins_test

import (
	"bufio"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"testing"
)

// lineReader reads SMTP command lines (CRLF or LF ended).
type lineReader struct{ r *bufio.Reader }

func newLineReader(c net.Conn) *lineReader { return &lineReader{r: bufio.NewReader(c)} }

func (l *lineReader) line() (string, error) {
	s, err := l.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(s, "\r\n"), nil
}

// mimeParts returns the decoded text/plain and text/html parts of a
// message, looking into nested multiparts.
func mimeParts(t *testing.T, data string) (text, html string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("the message does not parse: %v\n%s", err, data)
	}
	var walk func(ctype, cte string, body io.Reader)
	walk = func(ctype, cte string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(ctype)
		if err != nil {
			t.Fatalf("content type %q: %v", ctype, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatalf("multipart: %v", err)
				}
				walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
			}
		}
		switch strings.ToLower(cte) {
		case "quoted-printable":
			body = quotedprintable.NewReader(body)
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, newlineStripper{body})
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatalf("part %s: %v", mt, err)
		}
		switch mt {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
	walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	return text, html
}

// newlineStripper drops line breaks from base64 text.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	j := 0
	for _, c := range p[:k] {
		if c != '\r' && c != '\n' {
			p[j] = c
			j++
		}
	}
	return j, err
}
