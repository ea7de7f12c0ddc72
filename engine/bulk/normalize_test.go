package bulk

import (
	"math"
	"testing"
)

func TestNormalize(t *testing.T) {
	same := []struct {
		kind string
		a, b []string
	}{
		{"phone", []string{"+86 138-0013-8000", "0086 13800138000", "8613800138000", "138 0013 8000", "(+86)138.0013.8000", "１３８００１３８０００"}, nil},
		{"phone", []string{"010-12345678", "+86 10 1234 5678", "0086-10-12345678"}, nil},
		{"email", []string{" Li.Lei@Example.COM ", "li.lei@example.com", "ＬＩ.ＬＥＩ@example.com"}, nil},
		{"text", []string{"  Acme   Trading ", "acme trading", "ＡＣＭＥ　Ｔｒａｄｉｎｇ"}, nil},
		{"company", []string{"阿里巴巴（中国）有限公司", "阿里巴巴(中国)有限公司", "阿里巴巴", "阿里巴巴集团", "阿里巴巴集团有限公司", "阿里巴巴 股份有限公司"}, nil},
		{"company", []string{"Acme Co., Ltd.", "ACME Co.,Ltd", "Acme Limited", "Acme Inc.", "acme inc", "Acme Corp.", "Acme Corporation", "ACME LLC", "Acme GmbH", "ＡＣＭＥ　ＣＯ．，ＬＴＤ．"}, nil},
		{"company", []string{"华为技术有限公司", "华为技术有限责任公司", "华为技术公司"}, nil},
	}
	for _, c := range same {
		want := Normalize(c.kind, c.a[0])
		if want == "" {
			t.Errorf("%s %q normalises to nothing", c.kind, c.a[0])
		}
		for _, v := range c.a[1:] {
			if got := Normalize(c.kind, v); got != want {
				t.Errorf("%s: %q → %q, want %q (as %q)", c.kind, v, got, want, c.a[0])
			}
		}
	}
	differ := []struct{ kind, a, b string }{
		{"phone", "13800138000", "13800138001"},
		{"company", "Acme Co., Ltd.", "Acme Trading Co., Ltd."},
		{"company", "Costco", "Cost"}, // "co" is a word, not a suffix of a word
		{"email", "a@example.com", "a@example.org"},
		{"company", "华为", "中兴"},
	}
	for _, c := range differ {
		if Normalize(c.kind, c.a) == Normalize(c.kind, c.b) {
			t.Errorf("%s: %q and %q should differ, both %q", c.kind, c.a, c.b, Normalize(c.kind, c.a))
		}
	}
	if got := Normalize("company", "有限公司"); got != "有限公司" {
		t.Errorf("a bare legal form: %q", got)
	}
	if got := Normalize("phone", "n/a"); got != "" {
		t.Errorf("no digits: %q", got)
	}
}

func TestSimilarity(t *testing.T) {
	cases := []struct {
		a, b string
		want float64
	}{
		{"北京字节跳动科技", "北京字节跳动", 0.75},
		{"张伟", "张玮", 0.5},
		{"张伟", "张伟", 1},
		{"", "", 1},
		{"abc", "", 0},
		{"kitten", "sitting", 1 - 3.0/7},
		{"上海浦东发展银行", "上海浦东发展银", 1 - 1.0/8},
	}
	for _, c := range cases {
		if got := Similarity(c.a, c.b); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("Similarity(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
		if Similarity(c.a, c.b) != Similarity(c.b, c.a) {
			t.Errorf("not symmetric: %q %q", c.a, c.b)
		}
	}
	// Two short names one character apart share a blocking token.
	a, b := blocks("张伟"), blocks("张玮")
	shared := false
	for _, x := range a {
		for _, y := range b {
			shared = shared || x == y
		}
	}
	if !shared {
		t.Errorf("blocks %v and %v share nothing", a, b)
	}
}
