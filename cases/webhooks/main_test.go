package webhooks_test

import (
	"testing"

	"giftdesk/models/modelstest"
)

func TestMain(m *testing.M) { modelstest.Main(m) }
