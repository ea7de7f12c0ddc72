package api

import (
	"testing"
	"time"
)

// A body gets the read timeout again plus its time at MinUploadRate; a
// stalled small body is cut off within seconds, a large document on a slow
// link still arrives.
func TestBodyReadTimeout(t *testing.T) {
	const read = 10 * time.Second
	for _, c := range []struct {
		n    int
		want time.Duration
	}{
		{0, 0},
		{200, read + 200*time.Second/MinUploadRate},
		{MinUploadRate, read + time.Second},
		{MaxRecordBytes, read + 16*time.Second},
		{-1, read + 16*time.Second}, // chunked: a record's time
		{MaxBodyBytes, read + 128*time.Second},
		{10 * MaxBodyBytes, read + 128*time.Second},
	} {
		if got := bodyReadTimeout(read, c.n); got != c.want {
			t.Errorf("%d bytes: %s, want %s", c.n, got, c.want)
		}
	}
}

// framingProblem reads the raw header lines fasthttp keeps.
func TestFramingProblem(t *testing.T) {
	for raw, bad := range map[string]bool{
		"Host: x\r\nContent-Length: 5\r\n":                                        false,
		"Host: x\r\nContent-Length: 5\r\ncontent-length: 5\r\n":                   false,
		"Host: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n":                   true,
		"Host: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n":          true,
		"Host: x\r\nTRANSFER-ENCODING: chunked\r\nContent-Length: 0\r\n":          true,
		"Host: x\r\nTransfer-Encoding: chunked\r\n":                               false,
		"Host: x\r\nX-Content-Length: 5\r\nContent-Length: 6\r\n":                 false,
		"Host: x\r\nTransfer-Encoding: gzip, chunked\r\n":                         true,
		"Host: x\r\nTransfer-Encoding: identity\r\n":                              true,
		"Host: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n": true,
		"": false,
	} {
		if _, msg := framingProblem([]byte(raw)); (msg != "") != bad {
			t.Errorf("%q: refused %q, want a refusal: %v", raw, msg, bad)
		}
	}
}
