package schema

import (
	"errors"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// phonePattern accepts international and local numbers as people type them:
// digits with spaces, dashes, dots, parentheses and an optional leading +,
// 5 to 20 digits in all (Chinese mobiles have 11).
var phonePattern = regexp.MustCompile(`^\+?[0-9 ().\-]{5,30}$`)

// CheckFormat reports whether s is a well-formed value for a field of type t
// where t has a textual format (email, phone, url, date, datetime). Other
// types accept any string.
func CheckFormat(t FieldType, s string) error {
	switch t {
	case Email:
		a, err := mail.ParseAddress(s)
		if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
			return errors.New("must be an email address like name@example.com")
		}
	case Phone:
		digits := 0
		for _, r := range s {
			if r >= '0' && r <= '9' {
				digits++
			}
		}
		if !phonePattern.MatchString(s) || digits < 5 || digits > 20 {
			return errors.New("must be a phone number (digits, spaces, dashes, an optional leading +)")
		}
	case URL:
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("must be an http or https URL")
		}
	case Date:
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return errors.New("must be a date like 2026-11-21")
		}
	case DateTime:
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return errors.New("must be a date-time with a time zone, like 2026-11-21T09:30:00+08:00")
		}
	}
	return nil
}
