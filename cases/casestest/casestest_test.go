package casestest

import (
	"testing"

	"giftdesk/models/modelstest"
)

// The fingerprint modelstest migrates test databases with is that of the keys tests use: else
// every claim-code look-up in a test would miss, and every command would refuse the database.
func TestPinnedFingerprintMatchesTheKeys(t *testing.T) {
	if Keys.Fingerprint != modelstest.Fingerprint {
		t.Fatalf("modelstest.Fingerprint is %s, the keys' is %s", modelstest.Fingerprint, Keys.Fingerprint)
	}
}
