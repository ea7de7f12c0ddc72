package script_test

import (
	"context"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/script"
)

// A call made with WithNow reads that clock (Date.now, now(), today()),
// and the next call on the same pooled runtime without it reads the wall
// clock again.
func TestCallClock(t *testing.T) {
	eng, err := script.New(map[string]string{"s": `function f() { return [Date.now(), now(), today()]; }`}, script.Options{PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2030, 1, 7, 23, 30, 0, 0, time.UTC)
	got, _, err := eng.Call(script.WithNow(context.Background(), func() time.Time { return at }), "s", "f", nil, script.Env{})
	if err != nil {
		t.Fatal(err)
	}
	l := got.([]any)
	if l[0] != at.UnixMilli() || l[1] != "2030-01-07T23:30:00Z" || l[2] != "2030-01-07" {
		t.Fatalf("on the test clock: %#v", l)
	}
	got, _, err = eng.Call(context.Background(), "s", "f", nil, script.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if ms, _ := got.([]any)[0].(int64); time.Since(time.UnixMilli(ms)).Abs() > time.Minute {
		t.Fatalf("without a clock: %#v, want the wall clock", got)
	}
}
