package tenant

import (
	"context"
	"errors"
	"testing"
)

func TestStoreFunc(t *testing.T) {
	want := &Tenant{AccountSID: secretSIDA}
	var s Store = StoreFunc(func(_ context.Context, sid string) (*Tenant, error) {
		if sid == want.AccountSID {
			return want, nil
		}
		return nil, ErrNotFound
	})
	if got, err := s.Lookup(context.Background(), secretSIDA); got != want || err != nil {
		t.Errorf("Lookup(%s) = %v, %v", secretSIDA, got, err)
	}
	if _, err := s.Lookup(context.Background(), secretSIDB); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup(%s) error %v, want ErrNotFound", secretSIDB, err)
	}
}
