package access

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// Deactivation revokes sessions, API tokens and pending reset tokens for
// good: reactivating (by either path) brings none back, while a new login
// and a new API token work. A deactivated user cannot be issued a token.
func TestDeactivationRevokesForGood(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		on, off := true, false
		paths := map[string]func(id string, active bool) error{
			"SetActive": func(id string, active bool) error { return s.SetActive(ctx, id, active) },
			"UpdateUser": func(id string, active bool) error {
				a := &on
				if !active {
					a = &off
				}
				_, err := s.UpdateUser(ctx, id, UserUpdate{Active: a})
				return err
			},
		}
		for name, set := range paths {
			u := mustUser(t, s, name+"@example.com", false)
			session := mustLogin(t, s, name+"@example.com")
			api, _, err := s.CreateAPIToken(ctx, u.ID, "script", 0)
			if err != nil {
				t.Fatal(err)
			}
			reset, err := s.ResetPassword(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := set(u.ID, false); err != nil {
				t.Fatalf("%s: deactivate: %v", name, err)
			}
			if _, _, err := s.CreateAPIToken(ctx, u.ID, "while off", 0); !errors.Is(err, ErrUnauthorized) {
				t.Errorf("%s: API token for a deactivated user: %v", name, err)
			}
			if err := set(u.ID, true); err != nil {
				t.Fatalf("%s: reactivate: %v", name, err)
			}
			for what, tok := range map[string]string{"session": session, "API token": api} {
				if _, err := s.Authenticate(ctx, tok); !errors.Is(err, ErrUnauthorized) {
					t.Errorf("%s: old %s after reactivation: %v, want ErrUnauthorized", name, what, err)
				}
			}
			if _, err := s.CompletePasswordReset(ctx, reset, "a new password 1"); !errors.Is(err, ErrUnauthorized) {
				t.Errorf("%s: old reset token after reactivation: %v", name, err)
			}
			infos, err := s.Tokens(ctx, u.ID)
			if err != nil || len(infos) != 1 || !infos[0].Revoked {
				t.Errorf("%s: tokens after reactivation = %+v, %v; want the one API token, revoked", name, infos, err)
			}
			// The user starts afresh.
			fresh := mustLogin(t, s, name+"@example.com")
			if got, err := s.Authenticate(ctx, fresh); err != nil || got.ID != u.ID {
				t.Errorf("%s: new login = %+v, %v", name, got, err)
			}
			api2, _, err := s.CreateAPIToken(ctx, u.ID, "again", 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Authenticate(ctx, api2); err != nil {
				t.Errorf("%s: new API token: %v", name, err)
			}
		}
	})
}

// Logins and new API tokens racing a deactivation never leave a token that
// reactivation would bring back: each token was either issued before the
// deactivation (and revoked by it) or refused.
func TestDeactivationRacesIssue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		u := mustUser(t, s, "race@example.com", false)
		var (
			mu     sync.Mutex
			issued []string
			wg     sync.WaitGroup
			stop   = make(chan struct{})
			first  = make(chan struct{}, 8)
		)
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					var tok string
					var err error
					if i%2 == 0 {
						tok, _, _, err = s.Login(ctx, "race@example.com", pw)
					} else {
						tok, _, err = s.CreateAPIToken(ctx, u.ID, "race", 0)
					}
					if err == nil {
						mu.Lock()
						issued = append(issued, tok)
						mu.Unlock()
						select {
						case first <- struct{}{}:
						default:
						}
					}
				}
			}(i)
		}
		<-first // some tokens exist before the deactivation
		if err := s.SetActive(ctx, u.ID, false); err != nil {
			t.Fatal(err)
		}
		close(stop)
		wg.Wait()
		if err := s.SetActive(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		if len(issued) == 0 {
			t.Fatal("no token was issued")
		}
		for _, tok := range issued {
			if _, err := s.Authenticate(ctx, tok); !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("a token issued around the deactivation works after reactivation (%d issued): %v", len(issued), err)
			}
		}
	})
}
