package webhooks_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"giftdesk/cases/webhooks"
)

// TestSignatureMatchesTheStandardWebhooksVector signs the message of the Standard Webhooks
// reference library's own test (libraries/go/webhook_test.go, TestWebhookSign, in
// github.com/standard-webhooks/standard-webhooks) and expects its published signature.
func TestSignatureMatchesTheStandardWebhooksVector(t *testing.T) {
	key, err := webhooks.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := webhooks.Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
	if !webhooks.Verify(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", []byte(`{"test": 2432232314}`),
		"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "+got) {
		t.Error("a header holding the right signature among others does not verify")
	}
	if webhooks.Verify(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", []byte(`{"test": 2432232315}`), got) {
		t.Error("a changed body verifies")
	}
}

func TestSecretsAreWhsecBase64(t *testing.T) {
	s, key, err := webhooks.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	back, err := webhooks.ParseSecret(s)
	if err != nil || string(back) != string(key) || len(key) != 32 || !strings.HasPrefix(s, "whsec_") {
		t.Fatalf("secret %q parses to %x (%v), want %x", s, back, err, key)
	}
	for _, bad := range []string{"", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_c2hvcnQ="} {
		if _, err := webhooks.ParseSecret(bad); err == nil {
			t.Errorf("ParseSecret(%q) accepted", bad)
		}
	}
}

type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := f[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

func TestCheckURLRefusesPrivateTargetsAfterResolution(t *testing.T) {
	r := fakeResolver{
		"hooks.example.com":   {"93.184.216.34"},
		"rebind.example.com":  {"93.184.216.34", "10.1.2.3"},
		"meta.example.com":    {"169.254.169.254"},
		"v6local.example.com": {"fd00::1"},
		"mapped.example.com":  {"::ffff:127.0.0.1"},
	}
	ctx := context.Background()
	for _, ok := range []string{"https://hooks.example.com/giftdesk", "http://93.184.216.34:8080/x?y=1"} {
		if err := webhooks.CheckURL(ctx, r, ok, false); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{
		"ftp://hooks.example.com/", "hooks.example.com/x", "https://user:pw@hooks.example.com/",
		"http://localhost:8080/", "http://127.0.0.1/", "http://[::1]/", "http://10.0.0.5/", "http://192.168.1.1/",
		"http://172.16.0.1/", "http://169.254.169.254/latest", "http://0.0.0.0/", "http://[::]/", "http://224.0.0.1/",
		"https://rebind.example.com/", "https://meta.example.com/", "https://v6local.example.com/",
		"https://mapped.example.com/", "https://nowhere.example.com/", "http://api.localhost/",
		"http://[::127.0.0.1]/", "http://[64:ff9b::7f00:1]/", "http://[2002:7f00:1::]/", "http://255.255.255.255/",
		"http://192.0.0.1/", "http://198.18.0.1/", "http://240.0.0.1/", "http://0.1.2.3/", "http://100.64.0.1/",
		"https://93.184.216.34:99999/", "https://93.184.216.34:0/", "https://93.184.216.34:http/",
		"https://hooks.example.com/\xff", "https://hooks.example.com/a\x00b", "https://hooks.example.com/a\nb",
		"https://hooks.example.com/" + strings.Repeat("é", 2000),
	} {
		if err := webhooks.CheckURL(ctx, r, bad, false); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	// A public address embedded in NAT64 is public; 1,900 accented characters are within the limit.
	for _, ok := range []string{"http://[64:ff9b::5db8:d822]/", "https://hooks.example.com/" + strings.Repeat("é", 1900)} {
		if err := webhooks.CheckURL(ctx, r, ok, false); err != nil {
			t.Errorf("%.60s refused: %v", ok, err)
		}
	}
	if err := webhooks.CheckURL(ctx, r, "http://127.0.0.1:9000/hook", true); err != nil {
		t.Errorf("loopback refused with private targets allowed: %v", err)
	}
	if err := webhooks.CheckURL(ctx, r, "https://user:pw@127.0.0.1/", true); err == nil {
		t.Error("credentials accepted with private targets allowed")
	}
}
