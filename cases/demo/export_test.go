package demo

// ClaimCodes are the demo's claim codes, for the test that proves none is stored.
var ClaimCodes = claimCodes
