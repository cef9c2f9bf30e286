package phone_test

import (
	"testing"

	"bubble-twilio-voice/shared/phone"
	"bubble-twilio-voice/shared/voice"
)

func TestParse(t *testing.T) {
	tests := []struct {
		raw, region string
		want        voice.Number
		ok          bool
	}{
		{"+14155550123", "US", voice.Number{E164: "+14155550123", Region: "US", Type: voice.FixedLineOrMobile}, true},
		{"(415) 555-0123", "US", voice.Number{E164: "+14155550123", Region: "US", Type: voice.FixedLineOrMobile}, true},
		{"+12423570000", "US", voice.Number{E164: "+12423570000", Region: "BS", Type: "mobile"}, true},
		{"+442071838750", "US", voice.Number{E164: "+442071838750", Region: "GB", Type: "fixed_line"}, true},
		{"+447400123456", "US", voice.Number{E164: "+447400123456", Region: "GB", Type: "mobile"}, true},
		{"+447012345678", "GB", voice.Number{E164: "+447012345678", Region: "GB", Type: "personal"}, true},
		{"+18005550199", "US", voice.Number{E164: "+18005550199", Region: "US", Type: "toll_free"}, true},
		{"+19002345678", "US", voice.Number{E164: "+19002345678", Region: "US", Type: voice.PremiumRate}, true},
		{"+1415555", "US", voice.Number{}, false},
		{"hello", "US", voice.Number{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			got, ok := phone.Library{}.Parse(tc.raw, tc.region)
			if got != tc.want || ok != tc.ok {
				t.Errorf("Parse(%q, %s) = %+v, %v; want %+v, %v", tc.raw, tc.region, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestIsEmergency(t *testing.T) {
	tests := []struct {
		raw     string
		regions []string
		want    bool
	}{
		{"911", []string{"US"}, true},
		{"112", []string{"DE"}, true},
		{"999", []string{"US"}, false},
		{"999", []string{"US", "GB"}, true},
		{"+1 911", nil, true},
		{"+33 15", nil, true},
		{"411", []string{"US"}, false},
		{"+14155550123", []string{"US"}, false},
	}
	for _, tc := range tests {
		if got := (phone.Library{}).IsEmergency(tc.raw, "US", tc.regions); got != tc.want {
			t.Errorf("IsEmergency(%q, %v) = %v, want %v", tc.raw, tc.regions, got, tc.want)
		}
	}
}
