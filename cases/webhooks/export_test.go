package webhooks

// ErrorText is errorText, for the tests of package webhooks_test.
var ErrorText = errorText
