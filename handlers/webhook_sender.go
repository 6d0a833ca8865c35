package handlers

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"giftdesk/cases/webhooks"
)

// webhookSender posts webhook messages for the dispatcher of cases/webhooks: the desk's one
// outgoing HTTP client.
type webhookSender struct{ client *http.Client }

// NewWebhookSender returns the dispatcher's sender. Every connection it opens checks the address
// actually dialled (after DNS resolution, at every delivery) and refuses loopback, private and
// link-local ones unless allowPrivate (GIFTDESK_WEBHOOK_ALLOW_PRIVATE=1), so a name that resolves
// to such an address later than at registration (DNS rebinding) is caught. It uses no proxy (a
// proxy would dial past the check), follows no redirect, and gives up after
// webhooks.DeliveryTimeout.
func NewWebhookSender(allowPrivate bool) webhooks.Sender {
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		if allowPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil || webhooks.Blocked(ap.Addr()) {
			return webhooks.ErrBlockedAddress
		}
		return nil
	}}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: webhooks.DeliveryTimeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	}
	return &webhookSender{client: &http.Client{Transport: transport, Timeout: webhooks.DeliveryTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Send posts one message and returns the receiver's status; the answer's body is read (up to
// 64 KiB, so the connection can be reused) and dropped.
func (s *webhookSender) Send(ctx context.Context, url string, header map[string]string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for k, v := range header {
		req.Header[k] = []string{v}
	}
	res, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	_ = res.Body.Close()
	return res.StatusCode, nil
}
