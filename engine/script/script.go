// Package script runs app-defined JavaScript (goja) under hard limits.
//
// One Engine exists per app version. New parses and compiles every script
// once (goja.Compile, the script name is the file name); calls then take a
// prepared runtime from the Engine's pool, run the compiled program to get a
// fresh scope for that script, call the named top-level function and return
// the runtime to the pool.
//
// Isolation between calls:
//   - every ECMAScript intrinsic reachable from the global object (Object,
//     Array, Function, String, ... and their prototypes, plus the hidden
//     iterator/generator prototypes) is frozen when the runtime is prepared,
//     so `Object.prototype.x = 1` or `Array.prototype.push = null` has no
//     effect (sloppy mode) or throws a TypeError (strict mode). Assigning
//     constructor/toString/valueOf/name/message on *instances* still works
//     (the "override mistake" is patched as in SES).
//   - each script is wrapped in a function and run per call, so its top-level
//     variables start fresh on every call (Options.Reuse excepted: generated,
//     stateless scripts); scripts do not share a namespace.
//   - the global object is sealed, so a script cannot leave a global behind
//     (sloppy `x = 1` is a no-op, strict mode throws). A runtime that was
//     interrupted or overflowed its stack is discarded, not pooled.
//
// Limits per call: script time (Options.Timeout, via a timer →
// Runtime.Interrupt, that stands still while a native such as db.find
// runs: budget.go), wall time including natives (Options.Timeout +
// Options.NativeTime; ctx cancellation interrupts too), call-stack depth
// (Runtime.SetMaxCallStackSize) and a memory guard (see memory.go) that is
// approximate: Go cannot attribute allocations to a goroutine, so the
// process's heap growth is shared among the calls running script code.
// Single built-in steps that could allocate or run long natively are capped
// (caps.go), and what cannot be interrupted is refused (forbid.go: BigInt,
// backtracking regexps, eval).
//
// The global object holds only ECMAScript built-ins, `console` and the
// helper library (library.go). What a call hands in — arguments, Env.Globals
// (deep-frozen) and the native objects (db) — reaches the script as
// parameters of its wrapper function, converted in Go into plain JS values
// (convert.go), so no Go method or host object is reachable. There is no
// require, no timers, no I/O.
package script

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
)

// Defaults used when an Options field is zero.
const (
	DefaultTimeout      = 100 * time.Millisecond
	DefaultNativeTime   = 500 * time.Millisecond
	DefaultMaxCallStack = 256
	DefaultMaxMemory    = 64 << 20
	MaxLogLines         = 100
	MaxLogLineBytes     = 2048
)

// Options are the per-app limits. Zero values take the defaults above;
// PoolSize defaults to GOMAXPROCS.
type Options struct {
	// Timeout is the script's own time per call; time spent in natives
	// (db.find, db.get) does not count, NativeTime bounds it.
	Timeout time.Duration
	// NativeTime is how much longer than Timeout a call may take in all,
	// natives included: the call's wall-time cap is Timeout + NativeTime,
	// and natives see that deadline on their ctx.
	NativeTime   time.Duration
	MaxCallStack int
	MaxMemory    int64
	PoolSize     int

	// Globals names the values calls may hand scripts in Env.Globals, and
	// Natives the objects of Go functions they may hand in Env.Natives
	// (e.g. {"db": {"find", "get"}}). Both are declared up front because
	// scripts see them as parameters of the function that wraps each
	// script, not as properties of the global object: the global object
	// is sealed, so no call can leave anything behind for the next one.
	Globals []string
	Natives map[string][]string

	// Reuse names scripts that keep no state at their top level (generated
	// code): each runtime runs their top level once and reuses it, instead
	// of afresh for every call. Ignored when Globals are declared.
	Reuse []string
}

// Env is what Forma hands a call: each entry of Globals is a read-only,
// deep-frozen value under its name (e.g. Globals["ctx"] = {"user": ...} →
// ctx.user); names not handed in are undefined. Values must be plain data
// (as encoding/json would write them).
type Env struct {
	Globals map[string]any
	// Natives are the Go functions behind the declared native objects:
	// Natives["db"]["find"] is what db.find(...) calls during this call.
	// A declared function without one throws when called.
	Natives map[string]map[string]Native
}

// Native is a Go function handed to a script. Its arguments arrive as plain
// Go values (as Call's result: map[string]any, []any, string, int64,
// float64, bool, nil), and its result goes back as a plain JS value (built
// in Go from plain data, so no Go object is ever reachable). A returned error is thrown
// into the script as an Error carrying err.Error(), so the script may catch
// it and an uncaught one reports the script's line. ctx is the call's
// context, with the call's time limit as its deadline.
type Native func(ctx context.Context, args []any) (any, error)

// Record is an argument that the script sees as a record: an object whose
// properties are Values, where assigning a field outside Writable (or one
// that does not exist) throws a TypeError naming the field (ReadOnly gives
// the reason for known fields, e.g. "it is a formula field"). Invoke returns
// the record's values after the call.
type Record struct {
	Values map[string]any
	// Shape says which fields may be set; share one per kind of record.
	// Without it, Name, Writable and ReadOnly are used (and the record
	// machinery is built for this call alone).
	Shape    *Shape
	Name     string // what the record is, for messages: "opportunity"
	Writable map[string]bool
	ReadOnly map[string]string // field → why it cannot be set
}

// LogLine is one console.log/info/warn/error/debug line written by a call.
type LogLine struct {
	Level   string
	Message string
	At      time.Time
}

// Error kinds.
const (
	KindSyntax   = "syntax"   // script does not parse (from New)
	KindRuntime  = "runtime"  // the script threw, or called something that is not there
	KindTimeout  = "timeout"  // wall-time limit hit
	KindMemory   = "memory"   // memory guard tripped
	KindStack    = "stack"    // call-stack depth exceeded
	KindCanceled = "canceled" // the caller's ctx was canceled
	KindNotFound = "notfound" // no such script or function
	KindArgs     = "args"     // args/env could not be converted
	KindResult   = "result"   // the result is not a plain JSON-like value
)

// Error is every error Call and New return. Line and Column are 1-based
// positions in the script's own source (0 when unknown).
type Error struct {
	Script  string
	Line    int
	Column  int
	Message string
	Kind    string
}

func (e *Error) Error() string {
	loc := e.Script
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", e.Script, e.Line, e.Column)
	}
	return fmt.Sprintf("script %s: %s: %s", loc, e.Kind, e.Message)
}

// compiled is one script: its program, which returns an object of its
// top-level functions when run.
type compiled struct {
	name      string
	prg       *goja.Program
	funcs     map[string]bool
	prefixLen int  // the wrapper's text on line 1, before the script's own
	reuse     bool // Options.Reuse: the top-level scope is kept per runtime
}

// Engine holds one app version's compiled scripts and a pool of runtimes.
// It is safe for concurrent use.
type Engine struct {
	opts    Options
	scripts map[string]*compiled
	pool    chan *vm
	globals map[string]bool
	// the wrapper's parameters, in order: native objects, then globals
	nativeNames, globalNames []string
}

// compileCount counts goja.Compile calls (tests assert compile-once).
var compileCount atomic.Int64

// The wrapper "(function(db,ctx){" is put on the script's first line (no
// newline, so line numbers stay right; columns on line 1 are corrected by
// its length).

// reservedParams cannot be declared as globals for scripts.
var reservedParams = map[string]bool{"arguments": true, "eval": true, "undefined": true, "NaN": true, "Infinity": true,
	"globalThis": true, "console": true, "this": true}

var identRE = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// New compiles every script once. A script that does not parse returns an
// *Error of kind "syntax" with its name and line.
func New(scripts map[string]string, opts Options) (*Engine, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.NativeTime <= 0 {
		opts.NativeTime = DefaultNativeTime
	}
	if opts.MaxCallStack <= 0 {
		opts.MaxCallStack = DefaultMaxCallStack
	}
	if opts.MaxMemory <= 0 {
		opts.MaxMemory = DefaultMaxMemory
	}
	if opts.PoolSize <= 0 {
		opts.PoolSize = runtime.GOMAXPROCS(0)
	}
	e := &Engine{opts: opts, scripts: make(map[string]*compiled, len(scripts)), pool: make(chan *vm, opts.PoolSize)}
	names := make([]string, 0, len(scripts))
	for n := range scripts {
		names = append(names, n)
	}
	sort.Strings(names)
	params, err := e.params()
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		c, err := compileScript(name, scripts[name], params)
		if err != nil {
			return nil, err
		}
		c.reuse = len(opts.Globals) == 0 && slices.Contains(opts.Reuse, name)
		e.scripts[name] = c
	}
	// Prepare the pool now so first calls do not pay for it.
	for i := 0; i < opts.PoolSize; i++ {
		v, err := e.newVM()
		if err != nil {
			return nil, err
		}
		if i == 0 {
			e.globals = map[string]bool{}
			for _, n := range v.rt.GlobalObject().GetOwnPropertyNames() {
				e.globals[n] = true
			}
			for _, n := range append(append([]string{}, e.nativeNames...), e.globalNames...) {
				if e.globals[n] {
					return nil, fmt.Errorf("script: %q cannot be a global for scripts: it would hide the built-in", n)
				}
			}
		}
		e.pool <- v
	}
	return e, nil
}

// Global reports whether name is a global of the runtimes: an ECMAScript
// built-in, console, or a helper of the library.
func (e *Engine) Global(name string) bool { return e.globals[name] }

// params are the wrapper's parameters: native objects, then globals.
func (e *Engine) params() ([]string, error) {
	var natives, globals []string
	seen := map[string]bool{}
	for n, fns := range e.opts.Natives {
		natives = append(natives, n)
		for _, f := range fns {
			if !identRE.MatchString(f) {
				return nil, fmt.Errorf("script: native %s.%s is not an identifier", n, f)
			}
		}
	}
	globals = append(globals, e.opts.Globals...)
	sort.Strings(natives)
	sort.Strings(globals)
	e.nativeNames, e.globalNames = natives, globals
	for _, n := range append(append([]string{}, natives...), globals...) {
		if !identRE.MatchString(n) || seen[n] || reservedParams[n] {
			return nil, fmt.Errorf("script: %q cannot be a global for scripts (not an identifier, declared twice, or a built-in)", n)
		}
		seen[n] = true
	}
	return append(append([]string{}, natives...), globals...), nil
}

func compileScript(name, src string, params []string) (*compiled, error) {
	if name == "" {
		return nil, &Error{Script: name, Kind: KindSyntax, Message: "empty script name"}
	}
	// Parse the script as written first: errors carry the real positions,
	// and a script that is valid on its own cannot escape the wrapper.
	prog, err := parser.ParseFile(nil, name, src, 0)
	if err != nil {
		return nil, syntaxError(name, err)
	}
	// Refused before goja.Compile, which folds constant BigInt expressions
	// (forbid.go): compiling must not be where a script outlives its limit.
	if idx, msg, bad := Forbidden(prog); bad {
		p := prog.File.Position(int(idx) - prog.File.Base())
		return nil, &Error{Script: name, Kind: KindSyntax, Line: p.Line, Column: p.Column, Message: msg}
	}
	funcs := map[string]bool{}
	add := func(list []*ast.Binding) {
		for _, b := range list {
			if id, ok := b.Target.(*ast.Identifier); ok {
				funcs[id.Name.String()] = true
			}
		}
	}
	for _, st := range prog.Body {
		switch s := st.(type) {
		case *ast.FunctionDeclaration:
			if s.Function != nil && s.Function.Name != nil {
				funcs[s.Function.Name.Name.String()] = true
			}
		case *ast.VariableStatement:
			add(s.List)
		case *ast.LexicalDeclaration:
			add(s.List)
		}
	}
	prefix := "(function(" + strings.Join(params, ",") + "){"
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString(src)
	b.WriteString("\n;return {")
	keys := make([]string, 0, len(funcs))
	for k := range funcs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		// Every binding is initialised by the time this runs.
		fmt.Fprintf(&b, "%q: typeof %s === \"function\" ? %s : void 0", k, k, k)
	}
	b.WriteString("};\n})")
	compileCount.Add(1)
	prg, err := goja.Compile(name, b.String(), false)
	if err != nil {
		return nil, syntaxError(name, err)
	}
	return &compiled{name: name, prg: prg, funcs: funcs, prefixLen: len(prefix)}, nil
}

var posRE = regexp.MustCompile(`:(\d+):(\d+):? `)

func syntaxError(name string, err error) *Error {
	e := &Error{Script: name, Kind: KindSyntax, Message: err.Error()}
	var list parser.ErrorList
	var one *parser.Error
	switch {
	case errors.As(err, &list) && len(list) > 0:
		e.Line, e.Column, e.Message = list[0].Position.Line, list[0].Position.Column, list[0].Message
	case errors.As(err, &one):
		e.Line, e.Column, e.Message = one.Position.Line, one.Position.Column, one.Message
	default:
		if m := posRE.FindStringSubmatch(err.Error()); m != nil {
			fmt.Sscan(m[1], &e.Line)
			fmt.Sscan(m[2], &e.Column)
		}
	}
	return e
}

// Scripts lists the compiled script names and their callable functions.
func (e *Engine) Scripts() map[string][]string {
	out := make(map[string][]string, len(e.scripts))
	for n, c := range e.scripts {
		fs := make([]string, 0, len(c.funcs))
		for f := range c.funcs {
			fs = append(fs, f)
		}
		sort.Strings(fs)
		out[n] = fs
	}
	return out
}

// Options returns the effective options (defaults filled in).
func (e *Engine) Options() Options { return e.opts }

func (e *Engine) get() (*vm, error) {
	select {
	case v := <-e.pool:
		return v, nil
	default:
		return e.newVM()
	}
}

func (e *Engine) put(v *vm) {
	select {
	case e.pool <- v:
	default: // pool full: drop it
	}
}

// interrupt reasons.
type stopReason string

const (
	reasonTimeout  stopReason = "timeout"
	reasonWall     stopReason = "wall"
	reasonMemory   stopReason = "memory"
	reasonCanceled stopReason = "canceled"
)

// Call runs function `function` of script `script` with args as its single
// argument (a plain JS object) and env's globals visible. It returns the
// function's result as plain Go values (map[string]any, []any, string,
// int64, float64, bool, nil; a Date becomes an RFC 3339 string), and the
// console lines the call wrote — also when err != nil. A returned Promise is
// not awaited and is refused. Every error is an *Error.
func (e *Engine) Call(ctx context.Context, script, function string, args map[string]any, env Env) (result any, logs []LogLine, err error) {
	out, err := e.Invoke(ctx, script, function, []any{args}, env)
	return out.Result, out.Logs, err
}

// Outcome is what Invoke returns: the function's result, for each *Record
// argument the fields the script assigned with their new values (nil for
// other arguments), and the console lines the call wrote.
type Outcome struct {
	Result  any
	Changes []map[string]any
	Logs    []LogLine
}

// Has reports whether script defines top-level function fn.
func (e *Engine) Has(script, fn string) bool {
	c := e.scripts[script]
	return c != nil && c.funcs[fn]
}

// Invoke calls function `function` of script `script` with args (plain
// values or *Record) as its arguments, like Call. Logs are returned also when
// err != nil.
func (e *Engine) Invoke(ctx context.Context, script, function string, args []any, env Env) (out Outcome, err error) {
	c := e.scripts[script]
	if c == nil {
		return out, &Error{Script: script, Kind: KindNotFound, Message: "no such script"}
	}
	if !c.funcs[function] {
		return out, &Error{Script: script, Kind: KindNotFound, Message: fmt.Sprintf("no top-level function %q", function)}
	}
	if err := ctx.Err(); err != nil {
		return out, &Error{Script: script, Kind: KindCanceled, Message: err.Error()}
	}
	for k := range env.Globals {
		if !slices.Contains(e.globalNames, k) {
			return out, &Error{Script: script, Kind: KindArgs, Message: fmt.Sprintf("global %q was not declared in Options.Globals", k)}
		}
	}
	for k, fns := range env.Natives {
		declared, ok := e.opts.Natives[k]
		if !ok {
			return out, &Error{Script: script, Kind: KindArgs, Message: fmt.Sprintf("native object %q was not declared in Options.Natives", k)}
		}
		for f := range fns {
			if !slices.Contains(declared, f) {
				return out, &Error{Script: script, Kind: KindArgs, Message: fmt.Sprintf("native %s.%s was not declared in Options.Natives", k, f)}
			}
		}
	}

	v, err := e.get()
	if err != nil {
		return out, &Error{Script: script, Kind: KindRuntime, Message: "prepare runtime: " + err.Error()}
	}
	v.logs = v.logs[:0]
	v.dropped = 0
	// A pooled runtime serves calls of any clock: each call sets its own.
	v.rt.SetTimeSource(nowOf(ctx))
	healthy := true
	defer func() {
		out.Logs = v.finishLogs()
		if healthy && v.clean() {
			e.put(v)
		}
	}()

	wall := e.opts.Timeout + e.opts.NativeTime
	callCtx, cancel := context.WithTimeout(ctx, wall)
	defer cancel()
	// Guard: interrupts may only hit the runtime while this call runs.
	g := newGuard(v.rt)
	b := startBudget(e.opts.Timeout, func() { g.stop(reasonTimeout) })
	v.budget, v.stop = b, g.stop
	timer := time.AfterFunc(wall, func() { g.stop(reasonWall) })
	stopCtx := context.AfterFunc(ctx, func() { g.stop(reasonCanceled) })
	mw := memWatch(e.opts.MaxMemory, func() { g.stop(reasonMemory) })
	v.mem = mw
	res, recs, runErr := v.run(callCtx, c, function, args, env.Globals, env.Natives)
	// Converting the result or a thrown value can run script code (getters,
	// toString, Proxy traps), so it happens while the limits still apply:
	// after ClearInterrupt nothing may call into JS again.
	if runErr == nil {
		out.Result, runErr = v.plain(c.name, res)
	}
	if runErr == nil && recs != nil {
		out.Changes = make([]map[string]any, len(args))
		for i, r := range recs {
			if r == nil {
				continue
			}
			if out.Changes[i], runErr = v.recordChanges(c.name, r); runErr != nil {
				break
			}
		}
	}
	var se *Error
	if runErr != nil {
		se = v.toError(c, runErr, e.opts)
	}
	b.stop()
	timer.Stop()
	stopCtx()
	mw.done()
	g.finish() // after this no Interrupt can reach the runtime
	v.rt.ClearInterrupt()

	if se != nil {
		switch se.Kind {
		case KindRuntime, KindArgs, KindResult, KindNotFound:
		default:
			healthy = false // interrupted or overflowed: do not reuse
		}
		out.Result, out.Changes = nil, nil
		return out, se
	}
	return out, nil
}

// toError maps an error of a call to *Error with the script's line. It must
// run before the call's interrupt is cleared: describing a thrown value calls
// into JS (an Error's toString, a name or message getter), which is only
// bounded while the deadline can still interrupt it. It never calls
// (*goja.Exception).Error or String, nor errors.As on goja's types (their
// Unwrap walks the thrown value's prototype chain, which a Proxy turns into
// script code); it looks at the concrete types only.
func (v *vm) toError(c *compiled, err error, opts Options) *Error {
	name := c.name
	out := &Error{Script: name, Kind: KindRuntime}
	var stack []goja.StackFrame
	switch e := err.(type) {
	case *Error:
		return e
	case *goja.InterruptedError:
		stack = e.Stack()
		out.Kind, out.Message = interruptKind(e, opts)
	case *goja.StackOverflowError:
		stack = e.Stack()
		out.Kind, out.Message = KindStack, fmt.Sprintf("maximum call stack depth (%d) exceeded", opts.MaxCallStack)
	case *goja.Exception:
		stack = e.Stack()
		msg, derr := v.describeThrown(e.Value())
		switch d := derr.(type) {
		case nil:
			out.Message = msg
		case *goja.InterruptedError:
			// The thrown value's own toString/getters ran into the limit.
			out.Kind, out.Message = interruptKind(d, opts)
			out.Message += " (while its thrown value was being converted)"
		case *goja.StackOverflowError:
			out.Kind, out.Message = KindStack, fmt.Sprintf("maximum call stack depth (%d) exceeded (while its thrown value was being converted)", opts.MaxCallStack)
		default:
			out.Message = msg
		}
	default:
		// A Go error of this package (wrapper, conversion): plain text.
		out.Message = err.Error()
	}
	for _, f := range stack {
		if f.SrcName() == name {
			p := f.Position()
			out.Line, out.Column = p.Line, p.Column
			if p.Line == 1 {
				out.Column -= c.prefixLen
			}
			break
		}
	}
	return out
}

// interruptKind is the kind and message of an interrupted call.
func interruptKind(intr *goja.InterruptedError, opts Options) (kind, msg string) {
	switch r, _ := intr.Value().(stopReason); r {
	case reasonTimeout:
		return KindTimeout, fmt.Sprintf("script ran longer than %v and was stopped", opts.Timeout)
	case reasonWall:
		return KindTimeout, fmt.Sprintf("script and its db calls took longer than %v in all and were stopped", opts.Timeout+opts.NativeTime)
	case reasonMemory:
		return KindMemory, fmt.Sprintf("script allocated more than %d MiB and was stopped", opts.MaxMemory>>20)
	case reasonCanceled:
		return KindCanceled, "call canceled by the caller"
	default:
		return KindRuntime, fmt.Sprint(intr.Value())
	}
}

// describeThrown formats a thrown value: "TypeError: x" for Error objects,
// `uncaught "boom"` / "uncaught 42" / `uncaught {"a":1}` / "uncaught null"
// for other values. It runs script code (toString, getters), so it must run
// under the call's limits; err is the interrupt or stack overflow that
// stopped it, if any.
func (v *vm) describeThrown(val goja.Value) (string, error) {
	if val == nil {
		return "uncaught undefined", nil
	}
	var r goja.Value
	err := v.guarded(func() error {
		var err error
		r, err = v.describe(goja.Undefined(), val)
		return err
	})
	switch err.(type) {
	case nil:
	case *goja.InterruptedError, *goja.StackOverflowError:
		return "uncaught exception (value cannot be printed)", err
	default:
		return "uncaught exception (value cannot be printed)", nil
	}
	s, ok := r.Export().(string)
	if !ok {
		return "uncaught exception (value cannot be printed)", nil
	}
	return truncate(s, 1000), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// guarded runs a conversion that can run script code (getters, which may
// throw or be interrupted): outside a JS call goja panics with those, so
// they are turned into errors for toError.
func (v *vm) guarded(conv func() error) (err error) {
	defer func() {
		if x := recover(); x != nil {
			switch e := x.(type) {
			case *goja.InterruptedError:
				err = e
			case *goja.StackOverflowError:
				err = e
			default:
				panic(x)
			}
		}
	}()
	var convErr error
	if ex := v.rt.Try(func() { convErr = conv() }); ex != nil {
		return ex
	}
	return convErr
}

// recordChanges reads what a script assigned to a record argument.
func (v *vm) recordChanges(name string, r *record) (out map[string]any, err error) {
	var convErr error
	if err := v.guarded(func() error { out, convErr = r.changes(); return nil }); err != nil {
		return nil, err
	}
	if convErr != nil {
		return nil, &Error{Script: name, Kind: KindResult, Message: convErr.Error()}
	}
	return out, nil
}

// plain converts a call's result into plain Go values (map[string]any,
// []any, string, int64, float64, bool, nil), refusing functions, symbols,
// BigInts, cycles and non-plain objects (Map, RegExp, class instances...).
// Dates become RFC 3339 strings, undefined becomes nil (or is omitted as a
// property, as in JSON), NaN and ±Infinity become nil.
func (v *vm) plain(name string, res goja.Value) (out any, err error) {
	var convErr error
	if err := v.guarded(func() error { out, convErr = v.fromJS(res, 0); return nil }); err != nil {
		return nil, err
	}
	if convErr != nil {
		return nil, &Error{Script: name, Kind: KindResult, Message: "result " + convErr.Error()}
	}
	return out, nil
}
