package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Resolver finds the addresses of a host name; net.DefaultResolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// maxURLLength is the column's limit.
const maxURLLength = 2000

// Blocked reports whether a is an address no webhook may reach unless private targets are
// allowed: loopback, private (RFC 1918, unique local), link-local (cloud metadata services live
// there), unspecified, multicast, the other special-purpose ranges that are not the public
// internet, or such an IPv4 address written in IPv6 (mapped, compatible, NAT64, 6to4).
func Blocked(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() {
		return true
	}
	if a.Is6() {
		if embedded, ok := embeddedIPv4(a); ok && Blocked(embedded) {
			return true
		}
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return true
	}
	for _, p := range specialPurpose {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// specialPurpose are ranges of the IANA special-purpose registries that no public receiver lives in.
var specialPurpose = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
}

// embeddedIPv4 returns the IPv4 address an IPv6 address carries in the forms that reach it:
// IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002:a.b.c.d::/16).
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	b := a.As16()
	switch {
	case netip.MustParsePrefix("::/96").Contains(a), netip.MustParsePrefix("64:ff9b::/96").Contains(a):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case netip.MustParsePrefix("2002::/16").Contains(a):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}

// CheckURL checks an endpoint's URL when it is registered: its shape (CheckURLShape) and, unless
// allowPrivate, every address its host resolves to public. The message is for the person who
// typed the URL.
func CheckURL(ctx context.Context, r Resolver, raw string, allowPrivate bool) error {
	u, err := CheckURLShape(raw)
	if err != nil {
		return err
	}
	if allowPrivate {
		return nil
	}
	host := u.Hostname()
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") || strings.HasSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), ".localhost") {
		return errors.New("must not be localhost")
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		addrs, err = r.LookupNetIP(ctx, "ip", host)
		if err != nil || len(addrs) == 0 {
			return fmt.Errorf("host %s could not be resolved", host)
		}
	}
	for _, a := range addrs {
		if Blocked(a) {
			return fmt.Errorf("resolves to %s, a loopback, private, link-local or reserved address", a.Unmap())
		}
	}
	return nil
}

// CheckURLShape checks what can be checked of an endpoint's URL without resolving its host:
// valid UTF-8 without control characters, at most maxURLLength characters, http or https, a
// host, a port between 1 and 65535 when one is given, no user name or password, no fragment.
func CheckURLShape(raw string) (*url.URL, error) {
	if !utf8.ValidString(raw) || strings.IndexFunc(raw, unicode.IsControl) >= 0 {
		return nil, errors.New("must be valid UTF-8 text without control characters")
	}
	if utf8.RuneCountInString(raw) > maxURLLength {
		return nil, fmt.Errorf("must be at most %d characters", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, errors.New("must be an absolute http or https URL, such as https://example.com/hooks/giftdesk")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("must start with https:// or http://")
	}
	if u.User != nil {
		return nil, errors.New("must not hold a user name or password; the signature authenticates the desk")
	}
	if u.Fragment != "" {
		return nil, errors.New("must not hold a #fragment")
	}
	if u.Hostname() == "" {
		return nil, errors.New("must name a host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, errors.New("must have a port between 1 and 65535")
		}
	}
	return u, nil
}

// ErrBlockedAddress is a delivery refused because its host resolved to an address Blocked
// refuses: the sender checks the address it actually dials, at every connection.
var ErrBlockedAddress = errors.New("refused: the host resolved to a loopback, private or link-local address")
