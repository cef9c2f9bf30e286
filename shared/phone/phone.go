// Package phone reads dialled numbers with libphonenumber
// (github.com/nyaruka/phonenumbers): validity, E.164, region, type and
// emergency short numbers. It implements voice.Numbers. Only the functions
// that place calls link it: the library and its metadata are about 4 MB of
// a bootstrap and its start-up allocates 2.5 MB.
package phone

import (
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/voice"
)

// Library is libphonenumber as voice.Numbers. The zero value is ready.
type Library struct{}

// Parse reads raw, in defaultRegion unless it carries a country code.
//
// GetNumberType is both the validity and the type check: IsValidNumber(n)
// is exactly GetNumberType(n) != UNKNOWN (both test the number against the
// metadata of GetRegionCodeForNumber(n)); TestValidity pins that. It does
// derive the region once more internally: v1.8.1 exports no type lookup for
// a region already known, and a copy of its classifier to save ~6 µs a call
// is not worth a second copy of libphonenumber's rules.
func (Library) Parse(raw, defaultRegion string) (voice.Number, bool) {
	var num phonenumbers.PhoneNumber
	if err := phonenumbers.ParseToNumber(raw, defaultRegion, &num); err != nil {
		return voice.Number{}, false
	}
	typ, ok := types[phonenumbers.GetNumberType(&num)]
	if !ok {
		return voice.Number{}, false
	}
	return voice.Number{
		E164: phonenumbers.Format(&num, phonenumbers.E164),
		// The region, not the calling code: +1 is shared by the US, Canada
		// and much of the Caribbean.
		Region: phonenumbers.GetRegionCodeForNumber(&num),
		Type:   typ,
	}, true
}

// types maps libphonenumber's types to voice's; UNKNOWN (not a valid
// number) is absent.
var types = map[phonenumbers.PhoneNumberType]voice.NumberType{
	phonenumbers.FIXED_LINE:           tenant.NumberTypeFixedLine,
	phonenumbers.MOBILE:               tenant.NumberTypeMobile,
	phonenumbers.FIXED_LINE_OR_MOBILE: voice.FixedLineOrMobile,
	phonenumbers.TOLL_FREE:            tenant.NumberTypeTollFree,
	phonenumbers.PREMIUM_RATE:         voice.PremiumRate,
	phonenumbers.SHARED_COST:          voice.SharedCost,
	phonenumbers.VOIP:                 tenant.NumberTypeVoIP,
	phonenumbers.PERSONAL_NUMBER:      tenant.NumberTypePersonal,
	phonenumbers.PAGER:                tenant.NumberTypePager,
	phonenumbers.UAN:                  tenant.NumberTypeUAN,
	phonenumbers.VOICEMAIL:            tenant.NumberTypeVoicemail,
}

// IsEmergency reports whether raw, as dialled, is an emergency number of
// one of regions by libphonenumber's short-number metadata; or, written with
// a country code ("+1 911", "+33 15", read in defaultRegion), one of that
// country's, which Twilio would connect too.
func (Library) IsEmergency(raw, defaultRegion string, regions []string) bool {
	if strings.HasPrefix(raw, "+") {
		var num phonenumbers.PhoneNumber
		if phonenumbers.ParseToNumber(raw, defaultRegion, &num) != nil {
			return false
		}
		national := phonenumbers.GetNationalSignificantNumber(&num)
		return slices.ContainsFunc(phonenumbers.GetRegionCodesForCountryCode(int(num.GetCountryCode())),
			func(r string) bool { return phonenumbers.IsEmergencyNumber(national, r) })
	}
	return slices.ContainsFunc(regions, func(r string) bool { return phonenumbers.IsEmergencyNumber(raw, r) })
}
