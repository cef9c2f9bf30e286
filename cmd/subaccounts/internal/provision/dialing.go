package provision

import (
	"context"
	"fmt"
	"strings"

	"bubble-twilio-voice/shared/tenant"
)

// DialingOptions tune DialingPermissions.
type DialingOptions struct {
	// Inherit, if set, is the wanted inheritance of the main account's
	// voice dialing geographic permissions; nil only shows it.
	Inherit *bool
}

// DialingPermissions shows (and with o.Inherit sets) whether a subaccount
// inherits the main account's voice dialing geographic permissions, then
// checks the record's outbound.allowed_countries (default_region without
// them) against what Twilio permits the subaccount: the record only
// narrows what Twilio allows, so a country Twilio blocks fails however the
// record allows it. voice/v1 acts on the account that authenticates, so
// these requests authenticate as the subaccount, with the auth token the
// main account's credentials fetch.
func (p *Provisioner) DialingPermissions(ctx context.Context, accountSID string, o DialingOptions) error {
	a, err := p.subaccountOf(accountSID)
	if err != nil {
		return err
	}
	if a.Status != "active" {
		return fmt.Errorf("subaccount %s is %s: its dialing permissions can be read only while it is active", accountSID, a.Status)
	}
	if a.AuthToken == "" {
		return errNoAuthToken(accountSID)
	}
	inherit, err := p.tw.DialingInheritance(accountSID, a.AuthToken)
	if err != nil {
		return stepErr("fetch dialing permissions settings of "+accountSID, err)
	}
	yesNo := map[bool]string{true: "yes", false: "no"}
	switch {
	case o.Inherit == nil || *o.Inherit == inherit:
		p.printf("subaccount %s (%q) inherits the main account's voice dialing permissions: %s\n", a.SID, a.FriendlyName, yesNo[inherit])
	default:
		if err := p.checkpoint(ctx, "changing the dialing permissions inheritance"); err != nil {
			return err
		}
		if inherit, err = p.tw.SetDialingInheritance(accountSID, a.AuthToken, *o.Inherit); err != nil {
			return stepErr("update dialing permissions settings of "+accountSID, err)
		}
		if p.dryRun {
			return nil // the countries below would describe the current setting
		}
		p.printf("subaccount %s (%q) inherits the main account's voice dialing permissions: %s (changed)\n", a.SID, a.FriendlyName, yesNo[inherit])
	}
	if !inherit {
		p.printf("its own permissions apply: set them in the Console (Voice > Settings > Geo permissions) while switched to the subaccount\n")
	}

	st, err := p.loadStored(ctx, p.secretName(accountSID))
	if err != nil {
		return err
	}
	if !st.found {
		p.printf("no tenant record %s: allowed_countries not compared\n", st.name)
		return nil
	}
	t, err := tenant.Parse(st.rec.bytes())
	if err != nil {
		p.printf("tenant record %s is invalid (%v): allowed_countries not compared\n", st.name, err)
		return nil
	}
	countries := allowedCountries(t)
	p.printf("the record allows calls to: %s\n", strings.Join(countries, ", "))
	blocked := 0
	for _, iso := range countries {
		c, err := p.tw.DialingCountry(accountSID, a.AuthToken, iso)
		if err != nil {
			return stepErr("fetch dialing permissions of "+iso, err)
		}
		if c.LowRisk {
			p.printf("ok      %s (%s): Twilio permits calls\n", iso, c.Name)
		} else {
			blocked++
			p.printf("BLOCKED %s (%s): Twilio does not permit calls, so calls there fail although the record allows them\n", iso, c.Name)
		}
	}
	if blocked > 0 {
		p.printf("enable the blocked countries in the Console's Geo permissions (of the main account while the subaccount inherits), or remove them from outbound.allowed_countries\n")
	}
	return nil
}

// allowedCountries is what the record lets browsers dial.
func allowedCountries(t *tenant.Tenant) []string {
	if len(t.Outbound.AllowedCountries) > 0 {
		return t.Outbound.AllowedCountries
	}
	return []string{t.DefaultRegion}
}
