package webhook_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/formaapp/forma/engine/webhook"
)

// A receiver checks X-Forma-Signature against the raw body with the app's
// secret (the hex string GET /api/meta/apps/{app}/webhook-secret shows,
// decoded to bytes) and drops a duplicate by Idempotency-Key.
func ExampleVerify() {
	secret := []byte("the 32 bytes of the app's secret")
	seen := map[string]bool{}
	receiver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable", http.StatusBadRequest)
			return
		}
		if err := webhook.Verify(secret, r.Header.Get("X-Forma-Signature"), body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if key := r.Header.Get("Idempotency-Key"); seen[key] {
			w.WriteHeader(http.StatusOK) // already handled: a retry
			return
		}
		seen[r.Header.Get("Idempotency-Key")] = true
		fmt.Println("accepted", r.Header.Get("X-Forma-Event"))
	})

	// What Forma sends, by hand:
	body := `{"event":"created","app":"sales","entity":"lead","id":"01j…","automation":"grade_expo","occurredAt":"2026-12-06T09:00:00Z","record":{"name":"Acme"}}`
	send := func(sig string) int {
		req := httptest.NewRequest("POST", "/forma", strings.NewReader(body))
		req.Header.Set("X-Forma-Signature", sig)
		req.Header.Set("X-Forma-Event", "created")
		req.Header.Set("Idempotency-Key", "sales:grade_expo:01j…:created:2")
		rec := httptest.NewRecorder()
		receiver.ServeHTTP(rec, req)
		return rec.Code
	}
	fmt.Println(send(webhook.Sign(secret, time.Now(), []byte(body))))
	fmt.Println(send(webhook.Sign([]byte("a guessed secret"), time.Now(), []byte(body))))
	fmt.Println(send(webhook.Sign(secret, time.Now().Add(-time.Hour), []byte(body))))
	// Output:
	// accepted created
	// 200
	// 401
	// 401
}
