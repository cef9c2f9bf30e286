// Package isolation checks that one deployment serving many Twilio
// subaccounts keeps them apart: one tenant's bearer key, auth token, SIDs,
// routes and caller IDs never act for another tenant.
package isolation
