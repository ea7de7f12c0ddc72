package webhook

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestCheckURL(t *testing.T) {
	long := "https://hooks.example.com/" + strings.Repeat("a", MaxURLLength)
	cases := []struct {
		url     string
		ok      bool // without the allowance
		okAllow bool // with it
	}{
		{"https://hooks.example.com/forma", true, true},
		{"http://hooks.example.com:8080/x?a=1&b=%20#frag", true, true},
		{"HTTPS://Hooks.Example.COM/x", true, true},
		{"https://8.8.8.8/x", true, true},
		{"https://[2001:4860:4860::8888]/x", true, true},
		{"https://hooks.example.com./x", true, true}, // trailing dot
		{"https://under_score.example.com/", true, true},
		{"https://xn--fiqs8s.example.com/", true, true},

		// Not http(s), not absolute, malformed.
		{"", false, false},
		{"ftp://hooks.example.com/", false, false},
		{"file:///etc/passwd", false, false},
		{"gopher://127.0.0.1:25/", false, false},
		{"javascript:alert(1)", false, false},
		{"//hooks.example.com/x", false, false},
		{"/relative/path", false, false},
		{"https:hooks.example.com", false, false},
		{"https://", false, false},
		{"https://:443/", false, false},
		{"https://hooks.example.com:0/", false, false},
		{"https://hooks.example.com:65536/", false, false},
		{"https://hooks.example.com:/", false, false},
		{"https://hooks.example.com:http/", false, false},
		{long, false, false},
		// Userinfo, spaces, control characters, backslashes.
		{"https://user:pass@hooks.example.com/", false, false},
		{"https://user@hooks.example.com/", false, false},
		{"https://hooks.example.com@127.0.0.1/", false, false},
		{"https://hooks.example.com/ x", false, false},
		{"https://hooks.example.com/\r\nX-Injected: 1", false, false},
		{"https://hooks.example.com/\x00", false, false},
		{"https://127.0.0.1\\@hooks.example.com/", false, false},
		{"https://hooks.example.com%2F@127.0.0.1/", false, false},
		{"https://ex ample.com/", false, false},
		{"https://exa%6dple.com/", false, false}, // escapes in a host
		{"https://例子.测试/", false, false},         // Unicode: use xn--
		{"https://a..b/", false, false},
		{"https://-/", true, true}, // odd but harmless: resolution fails
		{"https://1.2.3.4.5/", false, false},
		{"https://example.123/", false, false},

		// Literal addresses.
		{"http://127.0.0.1/", false, true},
		{"http://127.9.9.9:8080/", false, true},
		{"http://0.0.0.0/", false, true},
		{"http://10.1.2.3/", false, true},
		{"http://172.16.0.1/", false, true},
		{"http://172.31.255.255/", false, true},
		{"http://172.32.0.1/", true, true},
		{"http://192.168.1.1/", false, true},
		{"http://169.254.169.254/latest/meta-data/", false, true},
		{"http://100.64.0.1/", false, true},
		{"http://100.127.255.255/", false, true},
		{"http://100.128.0.1/", true, true},
		{"http://224.0.0.1/", false, true},
		{"http://255.255.255.255/", false, true},
		{"http://198.18.0.1/", false, true},
		{"http://[::1]/", false, true},
		{"http://[::]/", false, true},
		{"http://[fe80::1]/", false, true},
		{"http://[fe80::1%25eth0]/", false, false}, // a zone: never
		{"http://[fc00::1]/", false, true},
		{"http://[fd12:3456::1]/", false, true},
		{"http://[ff02::1]/", false, true},
		{"http://[::ffff:127.0.0.1]/", false, true},
		{"http://[::ffff:8.8.8.8]/", false, true}, // mapped: always refused
		{"http://[::127.0.0.1]/", false, true},    // IPv4-compatible
		{"http://[2002:7f00:1::]/", false, true},  // 6to4 of 127.0.0.1
		{"http://[2002:c0a8:101::1]/", false, true},
		{"http://[2002:808:808::1]/", true, true}, // 6to4 of 8.8.8.8
		{"http://[64:ff9b::a00:1]/", false, true}, // NAT64 of 10.0.0.1
		{"http://[64:ff9b::808:808]/", true, true},
		{"http://[64:ff9b:1::1]/", false, true},
		{"http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", false, true}, // Teredo of 127.0.0.1
		{"http://[2001:db8::1]/", false, true},

		// Names.
		{"http://localhost/", false, true},
		{"http://LOCALHOST:8080/", false, true},
		{"http://localhost./", false, true},
		{"http://api.localhost/", false, true},
		{"http://localhost.example.com/", true, true},
		{"http://2130706433/", false, true},
		{"http://0x7f000001/", false, true},
		{"http://0x7f.1/", false, true},
		{"http://0177.0.0.1/", false, true},
		{"http://127.1/", false, true},
		{"http://127.0.1/", false, true},
		{"http://0/", false, true},
		{"http://134744072/", false, true}, // 8.8.8.8, still refused: not how anyone writes a host
		{"http://4294967296/", false, false},
		{"http://0x/", false, true},
		{"http://08.0.0.1/", false, false}, // not octal, not a name
	}
	for _, c := range cases {
		err := CheckURL(c.url, false)
		if (err == nil) != c.ok {
			t.Errorf("CheckURL(%q, false) = %v, want ok=%v", c.url, err, c.ok)
		}
		err = CheckURL(c.url, true)
		if (err == nil) != c.okAllow {
			t.Errorf("CheckURL(%q, true) = %v, want ok=%v", c.url, err, c.okAllow)
		}
	}
}

func TestCheckURLPrivateError(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1/", "http://localhost/", "http://0x7f.1/", "http://[::1]/"} {
		if err := CheckURL(u, false); !errors.Is(err, ErrPrivate) {
			t.Errorf("CheckURL(%q): %v, want ErrPrivate", u, err)
		}
	}
	if err := CheckURL("ftp://x/", false); errors.Is(err, ErrPrivate) {
		t.Errorf("a wrong scheme is not ErrPrivate")
	}
	// The message never repeats a user's password.
	if err := CheckURL("https://u:s3cret@hooks.example.com/", false); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("userinfo error: %v", err)
	}
}

func TestBlocked(t *testing.T) {
	for s, want := range map[string]bool{
		"8.8.8.8": false, "1.1.1.1": false, "2606:4700::1111": false,
		"127.0.0.1": true, "10.0.0.1": true, "::1": true, "fe80::1%eth0": true, "::ffff:10.0.0.1": true,
		"64:ff9b::7f00:1": true, "2002:a00:1::": true,
	} {
		a, err := netip.ParseAddr(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := Blocked(a); got != want {
			t.Errorf("Blocked(%s) = %v, want %v", s, got, want)
		}
	}
	if !Blocked(netip.Addr{}) {
		t.Error("the zero Addr is not blocked")
	}
}

func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://hooks.example.com/x", "http://0x7f.1/", "http://[::ffff:127.0.0.1]/", "http://a@b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckURL(s, false) == nil && CheckURL(s, true) != nil {
			t.Fatalf("%q passes without the allowance but not with it", s)
		}
	})
}
