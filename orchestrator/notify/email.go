package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"
)

func (n *Notifier) emailSender(c *Channel) func(context.Context, *Payload) error {
	return func(ctx context.Context, p *Payload) error {
		var password string
		if c.Email.Username != "" {
			var err error
			if password, err = n.cfg.Secrets.Resolve(c.Email.Password); err != nil {
				return fmt.Errorf("smtp password: %w", err)
			}
		}
		msg, err := emailMessage(c, p, n.clock.Now())
		if err != nil {
			return err
		}
		return scrub(sendMail(ctx, &c.Email, password, msg), password)
	}
}

// sendMail delivers msg through the relay in one SMTP session, bounded by ctx.
func sendMail(ctx context.Context, e *EmailChannel, password string, msg []byte) error {
	host, _, _ := net.SplitHostPort(e.Addr) // validated by New
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.Addr)
	if err != nil {
		return fmt.Errorf("smtp connect: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Cancellation (Stop) interrupts a session stuck on a silent relay.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("smtp greeting from %s: %w", e.Addr, err)
	}
	defer c.Close()
	if e.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("smtp %s does not offer STARTTLS, which the channel requires", e.Addr)
		}
		if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("smtp starttls with %s: %w", e.Addr, err)
		}
	}
	if e.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return fmt.Errorf("smtp %s does not offer AUTH, which the channel's Username requires", e.Addr)
		}
		if err := c.Auth(smtp.PlainAuth("", e.Username, password, host)); err != nil {
			return fmt.Errorf("smtp auth as %s: %w", e.Username, err)
		}
	}
	from, _ := mail.ParseAddress(e.From) // validated by New
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	for _, to := range e.To {
		addr, _ := mail.ParseAddress(to)
		if err := c.Rcpt(addr.Address); err != nil {
			return fmt.Errorf("smtp RCPT TO %s: %w", addr.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp write message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp end of message: %w", err)
	}
	// The relay accepted the message at the end of DATA; a failed QUIT does not undo that.
	_ = c.Quit()
	return nil
}

// emailMessage renders p as an RFC 5322 plain-text message: the summary as the subject, then the
// summary and the facts as the body (quoted-printable UTF-8). The Message-ID is the
// notification's ID, so that a retried delivery can be recognised as the same message.
func emailMessage(c *Channel, p *Payload, now time.Time) ([]byte, error) {
	from, err := mail.ParseAddress(c.Email.From)
	if err != nil {
		return nil, fmt.Errorf("email From: %w", err)
	}
	to := make([]string, len(c.Email.To))
	for i, t := range c.Email.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return nil, fmt.Errorf("email To[%d]: %w", i, err)
		}
		to[i] = a.String()
	}
	domain := "firedrill.invalid"
	if i := strings.LastIndexByte(from.Address, '@'); i >= 0 && i < len(from.Address)-1 {
		domain = from.Address[i+1:]
	}
	subject := "[firedrill] " + p.Summary()
	if r := []rune(subject); len(r) > 200 {
		subject = string(r[:199]) + "…"
	}
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, oneLine(v)) }
	header("From", from.String())
	header("To", strings.Join(to, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+p.ID+"@"+domain+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header(HeaderEvent, string(p.Event))
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := p.Summary() + "\n\n" + p.details()
	if _, err := qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n"))); err != nil {
		return nil, fmt.Errorf("encode email body: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, fmt.Errorf("encode email body: %w", err)
	}
	return b.Bytes(), nil
}
