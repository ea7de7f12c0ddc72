package template

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"testing"
)

// pictureProblem says what is wrong with a template's picture for the web
// gallery, or "": an SVG in its folder, small enough to travel inside
// GET /api/meta/templates as a data: URL, well-formed, with no words on it
// (the gallery's label and description are translated; a picture cannot
// be) and nothing it would load or run. TestTemplatesParse asks it of each.
func pictureProblem(fsys fs.FS, dir string, info *Info) string {
	if info.Picture != "picture.svg" {
		return fmt.Sprintf("template.json picture %q, want picture.svg", info.Picture)
	}
	b, err := fs.ReadFile(fsys, path.Join(dir, info.Picture))
	if err != nil {
		return err.Error()
	}
	if len(b) > 16<<10 {
		return fmt.Sprintf("picture is %d bytes; keep it under 16 KiB (it is sent with every gallery listing)", len(b))
	}
	return svgProblem(b)
}

// svgProblem says what is wrong with an SVG picture for the gallery, or "".
func svgProblem(b []byte) string {
	dec := xml.NewDecoder(bytes.NewReader(b))
	root := true
	for {
		tok, err := dec.Token()
		if err == io.EOF && root {
			return "no <svg> element"
		}
		if err == io.EOF {
			return ""
		}
		if err != nil {
			return "not well-formed XML: " + err.Error()
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root {
			if el.Name.Local != "svg" {
				return "the root element is <" + el.Name.Local + ">, not <svg>"
			}
			if attr(el, "viewBox") == "" {
				return "<svg> has no viewBox: the card could not scale it"
			}
			root = false
		}
		switch el.Name.Local {
		case "text", "tspan", "textPath":
			return "<" + el.Name.Local + ">: a picture has no words (they could not be translated)"
		case "script", "foreignObject", "image", "use", "a":
			return "<" + el.Name.Local + ">: a picture neither runs, embeds nor links anything"
		}
		for _, a := range el.Attr {
			if strings.HasPrefix(strings.ToLower(a.Name.Local), "on") || strings.Contains(strings.ToLower(a.Value), "url(http") {
				return "<" + el.Name.Local + " " + a.Name.Local + ">: no handlers or outside references"
			}
		}
	}
}

func attr(el xml.StartElement, name string) string {
	for _, a := range el.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// The check refuses what it is there to refuse.
func TestSVGProblem(t *testing.T) {
	for _, c := range []struct{ svg, want string }{
		{`<svg viewBox="0 0 1 1"><rect width="1" height="1"/></svg>`, ""},
		{`<svg viewBox="0 0 1 1"><rect>`, "not well-formed"},
		{`<html/>`, "root element"},
		{`<svg><rect/></svg>`, "viewBox"},
		{`<svg viewBox="0 0 1 1"><text>销售</text></svg>`, "no words"},
		{`<svg viewBox="0 0 1 1"><script>alert(1)</script></svg>`, "runs"},
		{`<svg viewBox="0 0 1 1"><image href="http://x/y.png"/></svg>`, "embeds"},
		{`<svg viewBox="0 0 1 1" onload="x()"/>`, "handlers"},
		{`<svg viewBox="0 0 1 1"><rect fill="url(https://x/#p)"/></svg>`, "outside"},
		{``, "no <svg>"},
	} {
		got := svgProblem([]byte(c.svg))
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.svg, got, c.want)
		}
	}
}
