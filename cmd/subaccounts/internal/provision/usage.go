package provision

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

// UsageOptions say whose usage, for which period, in which form.
type UsageOptions struct {
	// AccountSIDs to report; All reports every subaccount instead.
	AccountSIDs []string
	All         bool
	// Start and End (YYYY-MM-DD, inclusive, GMT as Twilio counts) bound the
	// period; both empty means the previous calendar month.
	Start, End string
	JSON       bool
}

// usageCategories are the Usage Records categories reported, in order:
// what an agency bills a voice customer for.
var usageCategories = []string{"calls", "recordings", "phonenumbers", "totalprice"}

// UsageAmount is one category of one subaccount's usage, as Twilio's
// decimal strings.
type UsageAmount struct {
	Count string `json:"count"`
	Usage string `json:"usage,omitempty"`
	Unit  string `json:"usage_unit,omitempty"`
	Price string `json:"price"`
}

// UsageReport is one subaccount's usage in a period (the --json shape).
type UsageReport struct {
	AccountSID   string      `json:"account_sid"`
	FriendlyName string      `json:"friendly_name"`
	Status       string      `json:"status"`
	Start        string      `json:"start_date"`
	End          string      `json:"end_date"`
	Calls        UsageAmount `json:"calls"`
	Recordings   UsageAmount `json:"recordings"`
	PhoneNumbers UsageAmount `json:"phone_numbers"`
	TotalPrice   string      `json:"total_price"`
	PriceUnit    string      `json:"price_unit"`
	Error        string      `json:"error,omitempty"`
}

// Usage reports subaccounts' usage from Twilio's Usage Records (calls and
// their minutes, recordings, phone numbers, total price) as a table or as
// JSON, so an agency can bill its customers. A failure for one subaccount
// is reported in its row and in the returned error; the others are still
// reported.
func (p *Provisioner) Usage(ctx context.Context, o UsageOptions) error {
	start, end, err := usagePeriod(o.Start, o.End, p.now())
	if err != nil {
		return err
	}
	var accts []Account
	switch {
	case o.All && len(o.AccountSIDs) > 0:
		return errors.New("pass ACCOUNT_SIDs or --all, not both")
	case o.All:
		if accts, err = p.tw.ListSubaccounts(); err != nil {
			return stepErr("list subaccounts", err)
		}
	case len(o.AccountSIDs) == 0:
		return errors.New("pass one or more ACCOUNT_SIDs, or --all")
	default:
		for _, sid := range o.AccountSIDs {
			a, err := p.subaccountOf(sid)
			if err != nil {
				return err
			}
			accts = append(accts, a)
		}
	}
	var reports []UsageReport
	var errs []error
	for _, a := range accts {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := UsageReport{AccountSID: a.SID, FriendlyName: a.FriendlyName, Status: a.Status, Start: start, End: end}
		if err := p.usageOf(&r); err != nil {
			r.Error = Describe(err)
			errs = append(errs, stepErr("usage of "+a.SID, err))
		}
		reports = append(reports, r)
	}
	if o.JSON {
		enc := json.NewEncoder(p.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Start    string        `json:"start_date"`
			End      string        `json:"end_date"`
			Accounts []UsageReport `json:"accounts"`
		}{start, end, reports}); err != nil {
			return err
		}
	} else if err := writeUsageTable(p, start, end, reports); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// usageOf fills r from one Usage Records request per category.
func (p *Provisioner) usageOf(r *UsageReport) error {
	for _, c := range usageCategories {
		recs, err := p.tw.UsageRecords(r.AccountSID, c, r.Start, r.End)
		if err != nil {
			return err
		}
		var u UsageRecord
		for _, x := range recs {
			if x.Category == c {
				u = x
			}
		}
		amt := UsageAmount{Count: cmp.Or(u.Count, "0"), Usage: u.Usage, Unit: u.UsageUnit, Price: cmp.Or(u.Price, "0")}
		switch c {
		case "calls":
			r.Calls = amt
		case "recordings":
			r.Recordings = amt
		case "phonenumbers":
			amt.Usage, amt.Unit = "", ""
			r.PhoneNumbers = amt
		case "totalprice":
			r.TotalPrice, r.PriceUnit = cmp.Or(u.Price, "0"), strings.ToUpper(u.PriceUnit)
		}
	}
	return nil
}

func writeUsageTable(p *Provisioner, start, end string, reports []UsageReport) error {
	p.printf("usage from %s to %s (Twilio Usage Records, GMT)\n", start, end)
	w := tabwriter.NewWriter(p.out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "ACCOUNT_SID\tNAME\tSTATUS\tCALLS\tCALL_MIN\tRECORDINGS\tREC_MIN\tNUMBERS\tTOTAL_PRICE\t")
	for _, r := range reports {
		if r.Error != "" {
			fmt.Fprintf(w, "%s\t%s\t%s\terror: %s\t\t\t\t\t\t\n", r.AccountSID, r.FriendlyName, r.Status, r.Error)
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s %s\t\n", r.AccountSID, r.FriendlyName, r.Status,
			r.Calls.Count, cmp.Or(r.Calls.Usage, "0"), r.Recordings.Count, cmp.Or(r.Recordings.Usage, "0"), r.PhoneNumbers.Count, r.TotalPrice, r.PriceUnit)
	}
	return w.Flush()
}

// usagePeriod validates start and end, defaulting to the calendar month
// before now's.
func usagePeriod(start, end string, now time.Time) (string, string, error) {
	if start == "" && end == "" {
		first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		return first.AddDate(0, -1, 0).Format(time.DateOnly), first.AddDate(0, 0, -1).Format(time.DateOnly), nil
	}
	s, err1 := time.Parse(time.DateOnly, start)
	e, err2 := time.Parse(time.DateOnly, end)
	if err1 != nil || err2 != nil {
		return "", "", fmt.Errorf("--start and --end must both be dates such as 2026-01-31")
	}
	if e.Before(s) {
		return "", "", fmt.Errorf("--end %s is before --start %s", end, start)
	}
	return start, end, nil
}

// MonthPeriod returns the first and last day of month ("2026-01").
func MonthPeriod(month string) (start, end string, err error) {
	m, err := time.Parse("2006-01", month)
	if err != nil {
		return "", "", fmt.Errorf("--month %q must be a month such as 2026-01", month)
	}
	return m.Format(time.DateOnly), m.AddDate(0, 1, -1).Format(time.DateOnly), nil
}
