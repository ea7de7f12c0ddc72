package plugin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/formaapp/forma/engine/webhook"
)

// mailPorts are the SMTP ports a declared host without a port allows:
// relay, implicit TLS, submission.
var mailPorts = []string{"25", "465", "587"}

// Mail limits.
const (
	MaxMailRecipients = 50
	MaxMailBytes      = 1 << 20 // subject, text and html together
)

// mailMessage is mail.send's argument.
type mailMessage struct {
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	TLS      string   `json:"tls"` // "ssl", "starttls" (default), "none"
	Username string   `json:"username"`
	Password string   `json:"password"`
	From     string   `json:"from"`
	To       []string `json:"to"`
	Cc       []string `json:"cc"`
	Subject  string   `json:"subject"`
	Text     string   `json:"text"`
	HTML     string   `json:"html"`
}

// mailSend is mail.send({host, port, tls, username, password, from, to,
// cc, subject, text, html}) → {messageId}. It counts as a request, and
// host:port must be declared like an HTTP host.
func (c *call) mailSend(ctx context.Context, args []any) (any, error) {
	var m mailMessage
	if err := decodeArg("mail.send", args, &m); err != nil {
		return nil, err
	}
	c.reqs++
	if c.reqs > c.c.limits.requests {
		return nil, c.refuse("", "plugin %s may make at most %d requests per call", c.name(), c.c.limits.requests)
	}
	m.Host = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(m.Host), "."))
	m.TLS = cmpOr(m.TLS, "starttls")
	switch {
	case m.Host == "" || strings.ContainsAny(m.Host, ":/@ "):
		return nil, errors.New("mail.send: host must be a host name")
	case m.Port < 1 || m.Port > 65535:
		return nil, errors.New("mail.send: port must be between 1 and 65535")
	case m.TLS != "ssl" && m.TLS != "starttls" && m.TLS != "none":
		return nil, errors.New(`mail.send: tls must be "ssl", "starttls" or "none"`)
	case m.From == "":
		return nil, errors.New("mail.send: from is required")
	case len(m.To) == 0:
		return nil, errors.New("mail.send: to needs at least one address")
	case len(m.To)+len(m.Cc) > MaxMailRecipients:
		return nil, fmt.Errorf("mail.send: at most %d recipients", MaxMailRecipients)
	case m.Text == "" && m.HTML == "":
		return nil, errors.New("mail.send: text or html is required")
	case len(m.Subject)+len(m.Text)+len(m.HTML) > MaxMailBytes:
		return nil, fmt.Errorf("mail.send: the message is larger than %d KB", MaxMailBytes>>10)
	}
	port := strconv.Itoa(m.Port)
	if !c.declared(m.Host, port, mailPorts) {
		return nil, c.refuse(m.Host, "host %s:%s is not declared by plugin %s", m.Host, port, c.name())
	}
	// A password in the clear goes only to a server an admin allowed as
	// private (a relay inside the network).
	if m.TLS == "none" && m.Username != "" && !c.env.allowPrivate {
		return nil, c.refuse(m.Host, "mail.send: a login without TLS is allowed only to a private server the admin allowed")
	}
	id, err := c.env.sendMail(ctx, &m)
	if err != nil {
		return nil, c.mailError(ctx, m.Host, port, err)
	}
	return map[string]any{"messageId": id}, nil
}

func (c *call) mailError(ctx context.Context, host, port string, err error) error {
	switch {
	case errors.Is(err, webhook.ErrPrivate):
		return c.refuse(host, "mail to %s:%s refused: %v", host, port, webhook.ErrPrivate)
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || isTimeout(err):
		return c.fail(KindTimeout, true, "mail to %s:%s timed out", host, port)
	default:
		return c.fail(KindRemote, true, "mail to %s:%s failed: %v", host, port, err)
	}
}

// newMail builds the message go-mail sends.
func newMail(m *mailMessage, now time.Time) (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	if len(m.Cc) > 0 {
		if err := msg.Cc(m.Cc...); err != nil {
			return nil, fmt.Errorf("cc: %w", err)
		}
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(now)
	msg.SetMessageID()
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	case m.HTML != "":
		msg.SetBodyString(mail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
	}
	return msg, nil
}

// sendSMTP delivers m through go-mail, connecting through the guarded
// dialer (or Options.SMTPDial in tests), within the call's deadline.
func (s *Service) sendSMTP(ctx context.Context, m *mailMessage, allowPrivate bool, now time.Time) (string, error) {
	msg, err := newMail(m, now)
	if err != nil {
		return "", err
	}
	dial := s.opts.SMTPDial
	if dial == nil {
		dial = webhook.GuardedDialer(allowPrivate, webhook.ConnectTimeout, s.lookup())
	}
	opts := []mail.Option{mail.WithPort(m.Port), mail.WithDialContextFunc(dial)}
	if dl, ok := ctx.Deadline(); ok {
		opts = append(opts, mail.WithTimeout(time.Until(dl)))
	}
	switch m.TLS {
	case "ssl":
		opts = append(opts, mail.WithSSL())
	case "starttls":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if m.Username != "" {
		auth := mail.SMTPAuthAutoDiscover
		if m.TLS == "none" {
			auth = mail.SMTPAuthPlainNoEnc // only to an allowed private relay (mailSend)
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(m.Username), mail.WithPassword(m.Password))
	}
	cl, err := mail.NewClient(m.Host, opts...)
	if err != nil {
		return "", err
	}
	if err := cl.DialAndSendWithContext(ctx, msg); err != nil {
		return "", err
	}
	return strings.Trim(msg.GetMessageID(), "<>"), nil
}
