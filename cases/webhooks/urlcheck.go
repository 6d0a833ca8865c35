package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// Resolver finds the addresses of a host name; net.DefaultResolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// maxURLLength is the column's limit.
const maxURLLength = 2000

// Blocked reports whether a is an address no webhook may reach unless private targets are
// allowed: loopback, private (RFC 1918, unique local), link-local (cloud metadata services live
// there), unspecified, multicast, or such an IPv4 address written in IPv6.
func Blocked(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || !a.IsValid() ||
		cgnat.Contains(a)
}

// cgnat is the carrier-grade NAT range (RFC 6598), private in all but name.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// CheckURL checks an endpoint's URL when it is registered: http or https, a host, no user name
// or password in it, and, unless allowPrivate, every address its host resolves to public.
// The message is for the person who typed the URL.
func CheckURL(ctx context.Context, r Resolver, raw string, allowPrivate bool) error {
	if len(raw) > maxURLLength {
		return fmt.Errorf("must be at most %d characters", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return errors.New("must be an absolute http or https URL, such as https://example.com/hooks/giftdesk")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("must start with https:// or http://")
	}
	if u.User != nil {
		return errors.New("must not hold a user name or password; the signature authenticates the desk")
	}
	if u.Fragment != "" {
		return errors.New("must not hold a #fragment")
	}
	host := u.Hostname()
	if host == "" {
		return errors.New("must name a host")
	}
	if allowPrivate {
		return nil
	}
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
			return fmt.Errorf("resolves to %s, a loopback, private or link-local address", a.Unmap())
		}
	}
	return nil
}

// ErrBlockedAddress is a delivery refused because its host resolved to an address Blocked
// refuses: the sender checks the address it actually dials, at every connection.
var ErrBlockedAddress = errors.New("refused: the host resolved to a loopback, private or link-local address")
