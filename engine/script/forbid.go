package script

import (
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"regexp"
	"regexp/syntax"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/parser"
)

// Constructs refused in scripts, because goja would run them as one
// uninterruptible native step:
//
//   - BigInt. goja folds constant expressions while compiling
//     (3n ** 30000000n burns seconds and 512 MB in goja.Compile, before any
//     limit applies), and at run time one BigInt operator (1n << k) can ask
//     for gigabytes between two interrupt checks. Nothing in Forma needs
//     BigInt (results and arguments are JSON), so BigInt literals are
//     refused when a script is compiled and every way to make a BigInt at
//     run time (BigInt, BigInt64Array, BigUint64Array, DataView's BigInt
//     methods) is removed from the runtime (caps.go). Without a BigInt
//     value no BigInt operator can run.
//   - Regular expressions that need a backtracking engine (lookahead,
//     lookbehind, backreferences, repeat counts above 1000). goja runs
//     those on regexp2, whose matching time is exponential in the worst
//     case and cannot be interrupted. Every other pattern runs on Go's RE2
//     engine in time linear in the input. Literals are refused when a
//     script is compiled; patterns built at run time (new RegExp,
//     "s".match(string)) throw a SyntaxError (caps.go).
//   - Code generation from strings (eval, Function and the generator and
//     async function constructors): compiling is script execution too
//     (see BigInt), outside the checks above. They throw an EvalError.

// Forbidden reports the first construct of prog that scripts may not use,
// with its offset in prog's source; ok is false when there is none.
func Forbidden(prog *ast.Program) (idx file.Idx, msg string, ok bool) {
	f := &folder{memo: map[ast.Expression]foldInfo{}}
	walk(reflect.ValueOf(prog), 0, func(n any, depth int) bool {
		if depth > maxNesting {
			if node, isNode := n.(ast.Node); isNode {
				idx, msg, ok = node.Idx0(), fmt.Sprintf("code nests more than %d levels deep; compiling it would take time quadratic in its depth", maxNesting), true
				return false
			}
		}
		switch x := n.(type) {
		case *ast.BinaryExpression, *ast.UnaryExpression, *ast.ConditionalExpression:
			e := x.(ast.Expression)
			if inf := f.info(e); inf.depth > maxExprDepth {
				idx, msg, ok = e.Idx0(), fmt.Sprintf("expression nests more than %d operators deep; compiling it would take time quadratic in its depth (split it up, or join an array)", maxExprDepth), true
			} else if f.cost > maxFoldBytes {
				idx, msg, ok = e.Idx0(), fmt.Sprintf("constant expression would build more than %d MiB of text while compiling (join an array or use a template literal instead)", maxFoldBytes>>20), true
			}
		case *ast.NumberLiteral:
			if _, big := x.Value.(*big.Int); big {
				idx, msg, ok = x.Idx, "BigInt literals are not supported in Forma scripts (a BigInt operation cannot be interrupted by the time or memory limit)", true
			}
		case *ast.RegExpLiteral:
			if why := regexpRefusal(x.Pattern, x.Flags); why != "" {
				idx, msg, ok = x.Idx, why, true
			}
		}
		return !ok
	})
	return
}

// Compiling is script execution too: goja folds constant expressions by
// running them, and checks whether an operand is constant by walking its
// whole subtree, at every level of a chain of operators. Measured (goja
// 2026-09): x + "a" + "a" + … with 80 000 terms (480 kB of source) takes
// 45 s to compile, and "50 chars" + "50 chars" + … with 20 000 terms 40 s,
// uninterruptibly, before any limit applies. Both are refused here: chains
// of operators deeper than maxExprDepth, and constant expressions whose
// folding would copy more than maxFoldBytes of text in total.
//
// Nesting of any kind is bounded too (maxNesting levels of the syntax
// tree): 40 000 nested blocks {{{…}}} (80 kB) took 4 s to compile.
const (
	maxExprDepth = 1000
	maxFoldBytes = 64 << 20
	maxNesting   = 1500
)

type foldInfo struct {
	depth int   // operators on the longest path down
	konst bool  // goja folds it
	size  int64 // length of its value as text, when constant
}

type folder struct {
	memo map[ast.Expression]foldInfo
	cost int64 // bytes all folds copy, summed
}

func (f *folder) info(e ast.Expression) foldInfo {
	if r, ok := f.memo[e]; ok {
		return r
	}
	var r foldInfo
	switch x := e.(type) {
	case *ast.StringLiteral:
		r = foldInfo{konst: true, size: int64(len(x.Value))}
	case *ast.NumberLiteral, *ast.BooleanLiteral, *ast.NullLiteral:
		r = foldInfo{konst: true, size: 24}
	case *ast.UnaryExpression:
		o := f.info(x.Operand)
		r = foldInfo{depth: o.depth + 1, konst: o.konst, size: 24}
	case *ast.BinaryExpression:
		l, rt := f.info(x.Left), f.info(x.Right)
		r = foldInfo{depth: max(l.depth, rt.depth) + 1, konst: l.konst && rt.konst, size: 24}
		if r.konst {
			r.size = l.size + rt.size
			f.cost += r.size
		}
	case *ast.ConditionalExpression:
		t, c, a := f.info(x.Test), f.info(x.Consequent), f.info(x.Alternate)
		r = foldInfo{depth: max(t.depth, c.depth, a.depth) + 1, konst: t.konst && c.konst && a.konst, size: max(c.size, a.size)}
	}
	f.memo[e] = r
	return r
}

var astPkg = reflect.TypeOf(ast.Identifier{}).PkgPath()

// walk calls visit for every AST node under v (pointers to structs of
// goja/ast) with its depth (nodes above it), depth first, until visit
// returns false. goja/ast has no walker of its own; reflection reaches
// every node type, present and future.
func walk(v reflect.Value, depth int, visit func(n any, depth int) bool) bool {
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return true
		}
		return walk(v.Elem(), depth, visit)
	case reflect.Pointer:
		if v.IsNil() || v.Type().Elem().Kind() != reflect.Struct || v.Type().Elem().PkgPath() != astPkg {
			return true
		}
		if !visit(v.Interface(), depth) {
			return false
		}
		return walk(v.Elem(), depth+1, visit)
	case reflect.Struct:
		if v.Type().PkgPath() != astPkg {
			return true
		}
		for i := 0; i < v.NumField(); i++ {
			if !v.Type().Field(i).IsExported() {
				continue
			}
			if !walk(v.Field(i), depth, visit) {
				return false
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if !walk(v.Index(i), depth, visit) {
				return false
			}
		}
	}
	return true
}

// CheckSource parses src (an expression or a script) and returns the first
// construct scripts may not use with its 1-based line and column; msg is ""
// when there is none or src does not parse (compiling reports that).
func CheckSource(name, src string) (line, column int, msg string) {
	prog, err := parser.ParseFile(nil, name, src, 0)
	if err != nil {
		return 0, 0, ""
	}
	idx, m, ok := Forbidden(prog)
	if !ok {
		return 0, 0, ""
	}
	p := prog.File.Position(int(idx) - prog.File.Base())
	return p.Line, p.Column, m
}

// regexpRefusal says why pattern (with flags) may not be used: it needs
// goja's backtracking engine. "" when it runs on RE2 (or is invalid, which
// goja reports itself). It mirrors goja's choice in compileRegexp.
func regexpRefusal(pattern, flags string) string {
	dotAll, uni := strings.ContainsRune(flags, 's'), strings.ContainsRune(flags, 'u')
	if !uni {
		pattern = astralToUTF16(pattern)
	}
	re2, err := parser.TransformRegExp(pattern, dotAll, uni)
	var incompat parser.RegexpErrorIncompatible
	switch {
	case errors.As(err, &incompat):
		return fmt.Sprintf("regular expression /%s/ needs a backtracking engine (lookahead, lookbehind or a backreference), whose running time cannot be bounded; Forma scripts may use only patterns without them", truncate(pattern, 80))
	case err != nil:
		return "" // invalid: goja throws its own SyntaxError
	}
	var fl string
	for _, f := range []struct {
		c   rune
		set string
	}{{'m', "m"}, {'s', "s"}, {'i', "i"}} {
		if strings.ContainsRune(flags, f.c) {
			fl += f.set
		}
	}
	if fl != "" {
		re2 = "(?" + fl + ":" + re2 + ")"
	}
	if _, err := regexp.Compile(re2); err != nil {
		var se *syntax.Error
		if errors.As(err, &se) && se.Code == syntax.ErrInvalidRepeatSize {
			return fmt.Sprintf("regular expression /%s/ repeats more than 1000 times, which needs a backtracking engine whose running time cannot be bounded", truncate(pattern, 80))
		}
	}
	return ""
}

// astralToUTF16 writes characters above U+FFFF as \uXXXX\uXXXX pairs, as
// goja does before choosing an engine for a pattern without the u flag.
func astralToUTF16(s string) string {
	var b strings.Builder
	pos := 0
	var prev rune
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r > 0xFFFF {
			b.WriteString(s[pos:i])
			if prev == '\\' {
				b.WriteByte('\\')
			}
			a, c := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, a, c)
			pos = i + size
		}
		i += size
		prev = r
	}
	if pos == 0 {
		return s
	}
	b.WriteString(s[pos:])
	return b.String()
}

// regexpTimeout bounds one regexp2 match. goja runs every scan that starts
// past index 0 (exec/test on a global or sticky regexp with lastIndex > 0,
// and so every match after the first of replace, match, matchAll and split)
// on regexp2, a backtracking engine, even for patterns RE2 could run, and
// regexp2 checks no interrupt: /(a+)+b/ is exponential there. With this
// timeout a scan gives up and goja sees "no match". It is process-wide
// (regexp2 copies it into each pattern when it compiles it).
//
// regexp2 measures it on a coarse clock that a goroutine advances every
// 100 ms, and adds one period to each deadline: a scan gives up 150-250 ms
// after it started, and never before 50 ms unless that goroutine lagged by
// over 100 ms. The exec/test wrappers (caps.go) turn every "no match" from
// a scan that took regexpSuspect or more into a RangeError, so a script
// never goes on with an answer that may be wrong. A script can therefore
// overrun its own limit by one abandoned match (≤ ~250 ms), and a legitimate
// scan of a very long text that finds nothing after 40 ms fails too.
const (
	regexpTimeout = 50 * time.Millisecond
	regexpSuspect = 40 * time.Millisecond
)

func init() { regexp2.DefaultMatchTimeout = regexpTimeout }

// regexpCost is the size of the RE2 program of pattern (instructions): RE2
// matching costs up to ~35 ns per input character and instruction
// (measured: (?:a*){1000}b, 2003 instructions, 35 s over 500 k characters).
// Patterns RE2 cannot run cost a fixed 64 (they are refused anyway).
func regexpCost(pattern, flags string) int {
	dotAll, uni := strings.ContainsRune(flags, 's'), strings.ContainsRune(flags, 'u')
	if !uni {
		pattern = astralToUTF16(pattern)
	}
	re2, err := parser.TransformRegExp(pattern, dotAll, uni)
	if err != nil {
		return 64
	}
	sf := syntax.Perl
	if strings.ContainsRune(flags, 'i') {
		sf |= syntax.FoldCase
	}
	if !strings.ContainsRune(flags, 'm') {
		sf |= syntax.OneLine
	}
	if dotAll {
		sf |= syntax.DotNL
	}
	re, err := syntax.Parse(re2, sf)
	if err != nil {
		return 64
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 64
	}
	return max(len(prog.Inst), 1)
}

// regexpBudget is how much matching (input characters × program
// instructions) one scan may do: at the measured worst of ~35 ns per unit,
// about half of the call's time limit.
func regexpBudget(timeout time.Duration) int64 {
	return max(int64(timeout/(35*time.Nanosecond))/2, 1<<16)
}
