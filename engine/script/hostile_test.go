package script

import (
	"context"
	"strings"
	"testing"
	"time"
)

// hostileCase is one script that tries to outlive its limits: the call must
// fail with kind (any kind when "") and a message containing msg, within
// the time limit plus a margin.
type hostileCase struct {
	name, src, kind, msg string
}

func runHostile(t *testing.T, opts Options, cases []hostileCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustNew(t, map[string]string{"h.js": c.src}, opts)
			start := time.Now()
			_, _, err := e.Call(context.Background(), "h.js", "run", nil, Env{})
			el := time.Since(start)
			if err == nil {
				t.Fatalf("no error after %v", el)
			}
			se := asErr(t, err)
			if (c.kind != "" && se.Kind != c.kind) || !strings.Contains(se.Message, c.msg) {
				t.Fatalf("got %s: %q, want %s: %q", se.Kind, se.Message, c.kind, c.msg)
			}
			if limit := e.Options().Timeout + 400*time.Millisecond; el > limit {
				t.Fatalf("stopped after %v, want within %v", el, limit)
			}
			t.Logf("%v: %v", el, se)
		})
	}
}

// A thrown value whose conversion to text loops is stopped by the call's
// deadline, not after it.
func TestHostileErrorConversion(t *testing.T) {
	runHostile(t, Options{Timeout: 100 * time.Millisecond}, []hostileCase{
		{"toString", `function run() { throw { toString() { while (true) {} } }; }`, KindRuntime, "uncaught"},
		{"errorToString", `function run() { const e = new Error("x"); e.toString = function() { while (true) {} }; throw e; }`, KindTimeout, "while its thrown value was being converted"},
		{"messageGetter", `class E extends Error { get message() { while (true) {} } }
function run() { throw new E(); }`, KindTimeout, "while its thrown value was being converted"},
		{"nameGetter", `class E extends Error { get name() { for (;;) {} } }
function run() { throw new E("m"); }`, KindTimeout, "ran longer than"},
		{"proxy", `function run() { throw new Proxy({}, { getPrototypeOf() { for (;;) {} }, get() { for (;;) {} }, ownKeys() { for (;;) {} } }); }`, "", ""},
		{"recursiveToString", `function run() { const e = new Error("x"); e.toString = function f() { return f() }; throw e; }`, KindStack, "exceeded"},
		{"resultGetter", `function run() { return { get x() { for (;;) {} } }; }`, KindTimeout, "ran longer than"},
	})
}
