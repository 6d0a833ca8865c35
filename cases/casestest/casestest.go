// Package casestest holds what the tests of the packages above models share about the domain:
// the keys every test database is bound to. models/modelstest gives the databases themselves and
// imports nothing of cases.
package casestest

import (
	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// Keys are the subkeys derived from modelstest.MasterKey.
var Keys = func() cases.Keys {
	k, err := cases.DeriveKeys(modelstest.MasterKey)
	if err != nil {
		panic(err)
	}
	return k
}()
