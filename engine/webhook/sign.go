package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries Sign's value on every delivery.
const SignatureHeader = "X-Forma-Signature"

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// maxSignatureHeader bounds what Verify reads: a header with a few v1
// values (while a secret rotates) is far shorter.
const maxSignatureHeader = 1024

// Verify's errors.
var (
	ErrMalformed = errors.New("webhook: malformed signature header")
	ErrTimestamp = errors.New("webhook: signature timestamp outside the tolerance")
	ErrMismatch  = errors.New("webhook: signature does not match")
)

// Sign returns the X-Forma-Signature value for body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix seconds>." + body)>".
// The timestamp is inside the MAC, so a receiver that checks it refuses a
// replay of an old delivery.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a Sign header against body: exactly one t, at least one
// v1 (any may match, which lets a receiver accept deliveries across a
// rotation), the timestamp within tolerance of now (≤ 0 means
// DefaultTolerance), compared in constant time. Unknown keys are ignored
// so that later schemes (v2=…) can be added beside v1.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if header == "" || len(header) > maxSignatureHeader {
		return ErrMalformed
	}
	var (
		ts   string
		sigs [][]byte
	)
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrMalformed
		}
		switch k {
		case "t":
			if ts != "" || v == "" || len(v) > 19 || strings.Trim(v, "0123456789") != "" {
				return ErrMalformed
			}
			ts = v
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				return ErrMalformed
			}
			sigs = append(sigs, b)
		}
	}
	if ts == "" || len(sigs) == 0 {
		return ErrMalformed
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrMalformed
	}
	if d := now.Unix() - sec; d > int64(tolerance/time.Second) || -d > int64(tolerance/time.Second) {
		return fmt.Errorf("%w (%d s off)", ErrTimestamp, d)
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		// Every candidate is compared (in constant time), matched or not.
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return ErrMismatch
	}
	return nil
}
