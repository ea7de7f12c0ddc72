package bulk

import (
	"strings"
	"unicode"

	"golang.org/x/text/width"

	"github.com/formaapp/forma/schema"
)

// Normalize returns value as a match key compares it, by kind (one of
// schema.Normalize*; "" is text). An empty answer means the value
// identifies nothing (blank, or only a legal suffix): it matches no record.
func Normalize(kind, value string) string {
	switch kind {
	case schema.NormalizePhone:
		return normalizePhone(value)
	case schema.NormalizeEmail:
		return strings.ToLower(strings.TrimSpace(width.Narrow.String(value)))
	case schema.NormalizeCompany:
		return normalizeCompany(value)
	}
	return normalizeText(value)
}

// normalizeText folds full-width forms to half width (ＡＢＣ１２３ → abc123,
// the ideographic space to a space), folds letter case, trims and
// collapses runs of white space to one space.
func normalizeText(s string) string {
	s = strings.ToLower(width.Narrow.String(s))
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// normalizePhone keeps the digits, drops a Chinese country code (+86,
// 0086, or 86 before an 11-digit mobile number) and gives a landline
// written with the country code its domestic trunk 0, so "+86 10 1234 5678"
// and "010-12345678" match, as do "+86 138-0013-8000" and "13800138000".
func normalizePhone(s string) string {
	var b strings.Builder
	for _, r := range width.Narrow.String(s) {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	rest, intl := "", false
	switch {
	case strings.HasPrefix(d, "0086") && len(d) > 4+6:
		rest, intl = d[4:], true
	case strings.HasPrefix(d, "86") && len(d) >= 11 && len(d) <= 13:
		// No Chinese number of 11–13 digits begins with 86 at home: a
		// mobile begins with 1, a landline with its trunk 0.
		rest, intl = d[2:], true
	}
	if intl {
		if len(rest) == 11 && rest[0] == '1' {
			return rest // a mobile number
		}
		if rest[0] != '0' {
			return "0" + rest // a landline: area code with its trunk 0
		}
		return rest
	}
	return d
}

// Legal forms removed from the end of a company name: Chinese suffixes
// (longest first, so 股份有限公司 goes whole) and Latin words.
var (
	companySuffixesZh = []string{"股份有限公司", "有限责任公司", "集团有限公司", "集团股份有限公司", "有限公司", "集团", "公司"}
	companyWordsLatin = map[string]bool{
		"co": true, "ltd": true, "limited": true, "inc": true, "incorporated": true, "corp": true,
		"corporation": true, "llc": true, "gmbh": true, "company": true, "plc": true, "group": true,
	}
	// Country qualifiers in brackets: "(中国)" in 某某(中国)有限公司.
	companyQualifiers = []string{"(中国)", "(china)", "【中国】", "〔中国〕", "[中国]", "[china]"}
)

// normalizeCompany is normalizeText, then without a country qualifier in
// brackets, without trailing legal forms (有限公司, Co., Ltd. …), and
// without punctuation, brackets of either width and spaces: "阿里巴巴（中国）
// 有限公司", "阿里巴巴(中国)有限公司" and "阿里巴巴" match, as do "Acme Co., Ltd.",
// "ACME Co.,Ltd", "Acme Limited" and "Acme Inc.". A name that is nothing
// but a legal form stays as it is, so "有限公司" alone matches only itself.
func normalizeCompany(s string) string {
	t := normalizeText(s)
	for _, q := range companyQualifiers {
		t = strings.ReplaceAll(t, q, " ")
	}
	tokens := strings.FieldsFunc(t, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	for len(tokens) > 1 && companyWordsLatin[tokens[len(tokens)-1]] {
		tokens = tokens[:len(tokens)-1]
	}
	out := strings.Join(tokens, "")
	for {
		cut := false
		for _, suf := range companySuffixesZh {
			if out == suf {
				break // nothing but a legal form: kept whole
			}
			if strings.HasSuffix(out, suf) {
				out, cut = strings.TrimSuffix(out, suf), true
				break
			}
		}
		if !cut {
			break
		}
	}
	return out
}

// Similarity is how alike two normalised values are, in [0, 1]: the
// Levenshtein ratio over runes (not bytes, so one Chinese character is one
// edit), 1 − distance / the longer length. 1 means equal, two empty
// values are 1, an empty and a non-empty 0. "北京字节跳动科技" and "北京字节跳动"
// are 0.75 alike; "张伟" and "张玮" 0.5.
func Similarity(a, b string) float64 {
	ra, rb := []rune(a), []rune(b)
	if len(ra) == 0 && len(rb) == 0 {
		return 1
	}
	if len(ra) < len(rb) {
		ra, rb = rb, ra
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return 1 - float64(prev[len(rb)])/float64(len(ra))
}

// blocks are the blocking tokens of a normalised value for a similarity
// key: its rune bigrams, and for a value of at most three runes its runes
// too (two short names one character apart share no bigram). Candidates
// are the records sharing a token; only they are scored.
func blocks(v string) []string {
	r := []rune(v)
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if len(r) <= 3 {
		for _, c := range r {
			add(string(c))
		}
	}
	for i := 0; i+1 < len(r); i++ {
		add(string(r[i : i+2]))
	}
	if len(out) > maxBlocks {
		out = out[:maxBlocks]
	}
	return out
}

// maxBlocks bounds the blocking rows of one value (a long text is blocked
// by its first bigrams).
const maxBlocks = 64
