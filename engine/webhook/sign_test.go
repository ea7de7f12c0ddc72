package webhook

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	at := time.Unix(1_780_000_000, 0)
	body := []byte(`{"event":"created","id":"01j"}`)
	h := Sign(secret, at, body)
	if !strings.HasPrefix(h, "t=1780000000,v1=") || len(h) != len("t=1780000000,v1=")+64 {
		t.Fatalf("Sign = %q", h)
	}
	if err := Verify(secret, h, body, at.Add(30*time.Second), time.Minute); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// A known vector: HMAC-SHA256("k", "1.{}").
	if got := Sign([]byte("k"), time.Unix(1, 0), []byte("{}")); got != "t=1,v1="+knownMAC {
		t.Fatalf("Sign known vector = %q", got)
	}

	cases := []struct {
		name   string
		header string
		body   string
		now    time.Time
		want   error
	}{
		{"tampered body", h, `{"event":"created","id":"01k"}`, at, ErrMismatch},
		{"other secret", Sign([]byte("other"), at, body), string(body), at, ErrMismatch},
		{"old timestamp", h, string(body), at.Add(6 * time.Minute), ErrTimestamp},
		{"future timestamp", h, string(body), at.Add(-6 * time.Minute), ErrTimestamp},
		{"timestamp swapped", strings.Replace(h, "t=1780000000", "t=1780000001", 1), string(body), at, ErrMismatch},
		{"empty", "", string(body), at, ErrMalformed},
		{"no v1", "t=1780000000", string(body), at, ErrMalformed},
		{"no t", h[strings.Index(h, "v1="):], string(body), at, ErrMalformed},
		{"two t", "t=1780000000," + h, string(body), at, ErrMalformed},
		{"bad t", "t=-5,v1=" + strings.Repeat("0", 64), string(body), at, ErrMalformed},
		{"huge t", "t=99999999999999999999,v1=" + strings.Repeat("0", 64), string(body), at, ErrMalformed},
		{"short v1", "t=1780000000,v1=abcd", string(body), at, ErrMalformed},
		{"non-hex v1", "t=1780000000,v1=" + strings.Repeat("z", 64), string(body), at, ErrMalformed},
		{"no equals", "t=1780000000,v1", string(body), at, ErrMalformed},
		{"oversized", h + "," + strings.Repeat("x=1,", 300), string(body), at, ErrMalformed},
	}
	for _, c := range cases {
		err := Verify(secret, c.header, []byte(c.body), c.now, 5*time.Minute)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
	// Default tolerance (≤ 0) is five minutes.
	if err := Verify(secret, h, body, at.Add(4*time.Minute), 0); err != nil {
		t.Errorf("default tolerance: %v", err)
	}
	// Several v1 values (a receiver across a rotation), unknown keys and
	// spaces are accepted.
	multi := "t=1780000000, v1=" + strings.Repeat("0", 64) + ", v2=whatever, " + h[strings.Index(h, "v1="):]
	if err := Verify(secret, multi, body, at, time.Minute); err != nil {
		t.Errorf("several v1: %v", err)
	}
}

// knownMAC is HMAC-SHA256(key "k", message "1.{}"), computed independently:
// printf '1.{}' | openssl dgst -sha256 -hmac k
const knownMAC = "3dd49b2593d0f9a349e9e71c4bde3e2b862c2be4003fe9b4ba81332029310158"

func FuzzVerify(f *testing.F) {
	secret := []byte("k")
	at := time.Unix(1_780_000_000, 0)
	f.Add(Sign(secret, at, []byte("{}")), []byte("{}"))
	f.Add("t=1,v1=00", []byte(""))
	f.Add("t=1780000000,v1="+strings.Repeat("a", 64)+",t=2", []byte("x"))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		if Verify(secret, header, body, at, time.Minute) != nil {
			return
		}
		// Accepted: the header must hold the MAC of its own t and this body.
		var ts string
		for _, p := range strings.Split(header, ",") {
			if k, v, _ := strings.Cut(strings.TrimSpace(p), "="); k == "t" {
				ts = v
			}
		}
		if want := "v1=" + hex.EncodeToString(mac(secret, ts, body)); !strings.Contains(strings.ToLower(header), want) {
			t.Fatalf("Verify accepted %q for %q", header, body)
		}
	})
}
