// Package webhook delivers an automation's outbound webhooks: a signed JSON
// POST to a URL an app's designer wrote, with a per-app secret, and a guard
// against server-side request forgery — a URL (and, at connect time, the
// address its name resolves to) that is loopback, private, link-local or
// otherwise not a public unicast address is refused unless a platform
// admin allows private addresses for that app.
//
// The pieces, by file:
//   - check.go: CheckURL and the address rule (Blocked), pure.
//   - sign.go: Sign and Verify of the X-Forma-Signature header, pure.
//   - deliver.go: the Service, Deliver and its guarded HTTP client.
//   - store.go: the per-app secret and the admin allowance.
package webhook

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// MaxURLLength bounds a webhook URL.
const MaxURLLength = 2048

// ErrPrivate is wrapped by the errors for a URL or a resolved address that
// is not public while the app does not allow private addresses.
var ErrPrivate = errors.New("the address is not public (loopback, private, link-local or reserved)")

// CheckURL says whether raw may be a webhook URL: absolute http or https,
// no user name or password, at most MaxURLLength bytes, no spaces or
// control characters, a host that is a DNS name or an IP literal. Unless
// allowPrivate, a literal IP that Blocked refuses, "localhost" and
// *.localhost, and a name that spells an IPv4 address another way
// (2130706433, 0x7f.1, 0177.0.0.1, 127.1) are refused too.
//
// CheckURL looks at the text only: a public name may still resolve to a
// private address, which the delivering dialer refuses when it connects.
func CheckURL(raw string, allowPrivate bool) error {
	if raw == "" {
		return errors.New("the URL is empty")
	}
	if len(raw) > MaxURLLength {
		return fmt.Errorf("the URL is longer than %d bytes", MaxURLLength)
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f || c == '\\' {
			return fmt.Errorf("the URL holds a space, a control character or a backslash at byte %d", i)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("the URL does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("the URL must start with http:// or https://")
	}
	if u.Opaque != "" || u.Host == "" {
		return errors.New("the URL has no host")
	}
	if u.User != nil {
		return errors.New("the URL must not hold a user name or password")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("the port %q is not between 1 and 65535", p)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return errors.New("the URL has an empty port")
	}
	host := u.Hostname()
	if strings.HasPrefix(u.Host, "[") {
		// An IPv6 literal; a zone ("%eth0") names an interface, which only
		// link-local addresses need.
		if strings.Contains(host, "%") {
			return errors.New("the URL's IPv6 address must not carry a zone")
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() {
			return errors.New("the URL's IPv6 address does not parse")
		}
		return checkAddr(a, allowPrivate)
	}
	host = strings.ToLower(host)
	if a, err := netip.ParseAddr(host); err == nil {
		return checkAddr(a, allowPrivate)
	}
	name := strings.TrimSuffix(host, ".")
	if name == "" || len(name) > 253 {
		return errors.New("the URL's host name is empty or too long")
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return errors.New("the URL's host name has an empty or over-long label")
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return errors.New("the URL's host name must be ASCII letters, digits and hyphens (write an international name in its xn-- form)")
			}
		}
	}
	if a, ok := legacyIPv4(name); ok {
		// Resolvers following inet_aton read these as addresses; nobody
		// writes a webhook host this way except to slip past a check.
		if !allowPrivate {
			return fmt.Errorf("the URL's host %q is the IP address %s written another way; write it as a dotted address: %w", name, a, ErrPrivate)
		}
		return nil
	}
	if isNumeric(labels[len(labels)-1]) {
		// A name whose last label is a number is not a DNS name (RFC 3696)
		// nor an address: refused whatever the allowance.
		return fmt.Errorf("the URL's host %q is neither a name nor an IP address", name)
	}
	if !allowPrivate && (name == "localhost" || strings.HasSuffix(name, ".localhost")) {
		return fmt.Errorf("the URL's host %q is this machine: %w", name, ErrPrivate)
	}
	return nil
}

func checkAddr(a netip.Addr, allowPrivate bool) error {
	if allowPrivate || !Blocked(a) {
		return nil
	}
	return fmt.Errorf("the URL's address %s: %w", a, ErrPrivate)
}

// v4Blocked are the IPv4 ranges that are not public unicast destinations.
var v4Blocked = prefixes(
	"0.0.0.0/8",       // "this network", including the unspecified 0.0.0.0
	"10.0.0.0/8",      // private
	"100.64.0.0/10",   // carrier-grade NAT (shared address space)
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local (cloud metadata services live here)
	"172.16.0.0/12",   // private
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // documentation
	"192.88.99.0/24",  // 6to4 relay anycast (deprecated)
	"192.168.0.0/16",  // private
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation
	"203.0.113.0/24",  // documentation
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, including broadcast 255.255.255.255
)

// v6Blocked are the IPv6 ranges refused outright; ranges that embed an
// IPv4 address (6to4, NAT64, Teredo) are judged by that address instead.
var v6Blocked = prefixes(
	"::/96",         // unspecified, loopback and IPv4-compatible (deprecated)
	"::ffff:0:0/96", // IPv4-mapped: a way to reach any IPv4 address
	"::ffff:0:0:0/96",
	"64:ff9b:1::/48", // local-use NAT64
	"100::/64",       // discard
	"2001:db8::/32",  // documentation
	"fc00::/7",       // unique local
	"fe80::/10",      // link-local
	"fec0::/10",      // site-local (deprecated)
	"ff00::/8",       // multicast
)

var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	six4   = netip.MustParsePrefix("2002::/16")
	teredo = netip.MustParsePrefix("2001::/32")
)

func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

// Blocked says whether a is an address a webhook must not reach without
// the app's allowance: anything but a public unicast address. IPv6
// addresses that carry an IPv4 address (6to4, NAT64, Teredo) are blocked
// when that address is.
func Blocked(a netip.Addr) bool {
	if !a.IsValid() {
		return true
	}
	a = a.WithZone("")
	if a.Is4() {
		for _, p := range v4Blocked {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	for _, p := range v6Blocked {
		if p.Contains(a) {
			return true
		}
	}
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return Blocked(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	case six4.Contains(a):
		return Blocked(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
	case teredo.Contains(a):
		// The client's address is the last 32 bits, inverted.
		return Blocked(netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}))
	}
	return false
}

func isNumeric(label string) bool {
	_, ok := parsePart(label)
	return ok
}

// parsePart reads one inet_aton part: decimal, 0x hex or 0-prefixed octal.
func parsePart(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := 10
	switch {
	case strings.HasPrefix(s, "0x"):
		base, s = 16, s[2:]
		if s == "" {
			return 0, true // "0x" alone is 0 to inet_aton
		}
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	if len(s) > 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, base, 64)
	return n, err == nil
}

// legacyIPv4 reads host the way inet_aton does ("a", "a.b", "a.b.c",
// "a.b.c.d", each part decimal, hex or octal, the last part filling the
// remaining bytes) and returns the address when it is one.
func legacyIPv4(host string) (netip.Addr, bool) {
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		v, ok := parsePart(p)
		if !ok {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	last := len(vals) - 1
	var ip uint64
	for i := 0; i < last; i++ {
		if vals[i] > 255 {
			return netip.Addr{}, false
		}
		ip |= vals[i] << (8 * (3 - i))
	}
	if vals[last] >= 1<<(8*(4-last)) {
		return netip.Addr{}, false
	}
	ip |= vals[last]
	return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), true
}
