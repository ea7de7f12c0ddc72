package plugin

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// manifestV is a valid manifest of plugin "notifier" at version.
func manifestV(version string) string {
	return `{"name": "notifier", "version": "` + version + `", "author": "Acme", "description": "Sends a message",
  "hosts": ["api.example.com"],
  "settings": {"type": "object", "properties": {"channel": {"type": "string", "minLength": 1}, "retries": {"type": "integer", "maximum": 5}}},
  "secrets": {"type": "object", "properties": {"token": {"type": "string", "minLength": 8}, "other": {"type": "string"}}, "required": ["token"]},
  "actions": [{"name": "send", "input": {"type": "object", "properties": {"text": {"type": "string"}}}}]}`
}

func pluginFiles(version string) map[string]string {
	return map[string]string{
		"plugin.json":    manifestV(version),
		"index.js":       "function send(input) { return {ok: true}; }\n",
		"helpers.js":     "function helper() { return 1; }\n",
		"README.md":      "# notifier\n",
		"test/send.json": `{"action": "send", "input": {"text": "hi"}, "output": {"ok": true}}`,
	}
}

// writeFolder writes files into a new folder.
func writeFolder(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	priv, _, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// packed returns a signed zip of files.
func packed(t *testing.T, files map[string]string, key ed25519.PrivateKey) []byte {
	t.Helper()
	pkg, err := ReadFolder(os.DirFS(writeFolder(t, files)))
	if err != nil {
		t.Fatal(err)
	}
	z, err := Pack(pkg, key)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// rawZip writes entries as given (any name, any order), for hostile zips.
func rawZip(t *testing.T, entries [][2]string, modes ...fs.FileMode) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i, e := range entries {
		fh := &zip.FileHeader{Name: e[0], Method: zip.Deflate}
		if i < len(modes) {
			fh.SetMode(modes[i])
		}
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e[1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func refusedCode(err error) string {
	var re *RefusedError
	if errors.As(err, &re) {
		return re.Code
	}
	return ""
}

func TestLoadFolderAndPack(t *testing.T) {
	dir := writeFolder(t, pluginFiles("1.0.0"))
	// Files a package does not hold are not read.
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(dir, "node_modules"), 0o755)
	os.WriteFile(filepath.Join(dir, "node_modules", "x.js"), []byte("x"), 0o644)
	pkg, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !pkg.Folder || pkg.Signed || pkg.Signer != "" || len(pkg.Files) != 5 || pkg.Manifest.Name != "notifier" {
		t.Fatalf("folder package %+v", pkg)
	}
	key := testKey(t)
	z, err := Pack(pkg, key)
	if err != nil {
		t.Fatal(err)
	}
	zp := filepath.Join(t.TempDir(), "notifier-1.0.0.zip")
	os.WriteFile(zp, z, 0o644)
	got, err := Load(zp)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Signed || got.Folder || got.Signer != KeyID(key.Public().(ed25519.PublicKey)) || got.SHA256 != pkg.SHA256 || len(got.SHA256) != 64 {
		t.Fatalf("zip package %+v", got)
	}
	for n, c := range pkg.Files {
		if got.Files[n] != c {
			t.Errorf("%s differs after pack", n)
		}
	}
	// Packing is deterministic: the same folder and key give the same zip.
	if again, _ := Pack(pkg, key); !bytes.Equal(again, z) {
		t.Error("pack is not deterministic")
	}
	// The digest follows the documented recipe.
	d := Digest(map[string]string{"b": "2", "a": "xy"})
	if fmt.Sprintf("%x", d) != fmt.Sprintf("%x", sha256Of("a\x002\x00xy"+"b\x001\x002")) {
		t.Errorf("digest %x", d)
	}
}

// TestTamperedZipRefused changes one byte at offsets all over a signed
// zip (headers, file data, the signature, the central directory): every
// one is refused, none reads as signed.
func TestTamperedZipRefused(t *testing.T) {
	z := packed(t, pluginFiles("1.0.0"), testKey(t))
	if _, err := ReadZip(z); err != nil {
		t.Fatal(err)
	}
	codes := map[string]int{}
	for off := 0; off < len(z); off++ {
		for _, flip := range []byte{0x01, 0x80} {
			bad := bytes.Clone(z)
			bad[off] ^= flip
			pkg, err := ReadZip(bad)
			if err == nil {
				t.Fatalf("byte %d (of %d) ^%#x: accepted (signed %v)", off, len(z), flip, pkg.Signed)
			}
			codes[refusedCode(err)]++
		}
	}
	if codes[CodeSignature] < len(z) {
		t.Errorf("codes %v: most changes should be plugin_signature", codes)
	}
	t.Logf("%d offsets: %v", len(z), codes)
}

func TestUnsignedZipReadsUnsigned(t *testing.T) {
	var entries [][2]string
	for n, c := range pluginFiles("1.0.0") {
		entries = append(entries, [2]string{n, c})
	}
	entries = append(entries, [2]string{"test/", ""})
	pkg, err := ReadZip(rawZip(t, entries))
	if err != nil {
		t.Fatal(err)
	}
	if pkg.Signed || pkg.Signer != "" || pkg.Folder {
		t.Fatalf("%+v", pkg)
	}
}

// TestHostileZips: zip-slip, absolute paths, links, oversize, too many
// files, foreign files, duplicates, not a zip, a manifest with errors.
func TestHostileZips(t *testing.T) {
	base := [][2]string{{"plugin.json", manifestV("1.0.0")}, {"index.js", "function send(){}"}}
	with := func(extra ...[2]string) [][2]string { return append(append([][2]string{}, base...), extra...) }
	big := strings.Repeat("a", MaxPackageBytes+1)
	many := with()
	for i := 0; i <= MaxFiles; i++ {
		many = append(many, [2]string{fmt.Sprintf("test/t%d.json", i), "{}"})
	}
	cases := map[string]struct {
		zip  []byte
		code string
	}{
		"zip-slip":        {rawZip(t, with([2]string{"../evil.js", "x"})), CodeInvalid},
		"zip-slip deep":   {rawZip(t, with([2]string{"test/../../evil.js", "x"})), CodeInvalid},
		"absolute":        {rawZip(t, with([2]string{"/etc/evil.js", "x"})), CodeInvalid},
		"backslash":       {rawZip(t, with([2]string{`..\evil.js`, "x"})), CodeInvalid},
		"symlink":         {rawZip(t, [][2]string{{"link.js", "/etc/passwd"}, base[0], base[1]}, fs.ModeSymlink|0o777), CodeInvalid},
		"oversize":        {rawZip(t, with([2]string{"big.js", big})), CodeInvalid},
		"too many":        {rawZip(t, many), CodeInvalid},
		"foreign file":    {rawZip(t, with([2]string{"evil.sh", "rm -rf /"})), CodeInvalid},
		"nested":          {rawZip(t, with([2]string{"lib/x.js", "x"})), CodeInvalid},
		"duplicate":       {rawZip(t, with([2]string{"index.js", "again"})), CodeInvalid},
		"not text":        {rawZip(t, with([2]string{"bin.js", "a\x00b"})), CodeInvalid},
		"no manifest":     {rawZip(t, [][2]string{base[1]}), CodeInvalid},
		"no main":         {rawZip(t, [][2]string{base[0], {"other.js", "x"}}), CodeInvalid},
		"not a zip":       {[]byte("PK\x03\x04 this is not a zip"), CodeSignature},
		"empty":           {nil, CodeSignature},
		"manifest errors": {rawZip(t, [][2]string{{"plugin.json", `{"name": "X", "version": "1", "actions": [{"name": "a"}, {"name": "a"}]}`}, base[1]}), CodeInvalid},
	}
	for name, c := range cases {
		pkg, err := ReadZip(c.zip)
		if err == nil {
			t.Errorf("%s: accepted %+v", name, pkg.Manifest)
			continue
		}
		if got := refusedCode(err); got != c.code {
			t.Errorf("%s: code %q, want %q (%v)", name, got, c.code, err)
		}
	}
	// A manifest with errors: every one, with its pointer.
	_, err := ReadZip(cases["manifest errors"].zip)
	var re *RefusedError
	if !errors.As(err, &re) || re.Status != 422 || len(re.Details) < 4 {
		t.Fatalf("manifest errors: %#v", err)
	}
	paths := map[string]bool{}
	for _, p := range re.Details {
		paths[p.Path] = true
	}
	for _, p := range []string{"/name", "/version", "/actions/1/name", ""} {
		if !paths[p] {
			t.Errorf("no problem at %q: %v", p, re.Details)
		}
	}
}

func TestHostileFolders(t *testing.T) {
	// A link among the files a package holds is refused.
	dir := writeFolder(t, pluginFiles("1.0.0"))
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "evil.js")); err != nil {
		t.Skip("no symlinks here")
	}
	if _, err := Load(dir); refusedCode(err) != CodeInvalid {
		t.Errorf("link: %v", err)
	}
	dir = writeFolder(t, pluginFiles("1.0.0"))
	os.Remove(filepath.Join(dir, "test", "send.json"))
	os.Remove(filepath.Join(dir, "test"))
	os.Symlink("/etc", filepath.Join(dir, "test"))
	if _, err := Load(dir); refusedCode(err) != CodeInvalid {
		t.Errorf("linked test folder: %v", err)
	}
	// Oversize.
	files := pluginFiles("1.0.0")
	files["big.js"] = strings.Repeat("x", MaxPackageBytes)
	if _, err := Load(writeFolder(t, files)); refusedCode(err) != CodeInvalid {
		t.Errorf("oversize: %v", err)
	}
	// Too many files.
	files = pluginFiles("1.0.0")
	for i := 0; i < MaxFiles; i++ {
		files[fmt.Sprintf("test/c%d.json", i)] = "{}"
	}
	if _, err := Load(writeFolder(t, files)); refusedCode(err) != CodeInvalid {
		t.Errorf("too many: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("absent path loaded")
	}
}

func TestKeys(t *testing.T) {
	priv, pub, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePublicKey(pub)
	if err != nil || !bytes.Equal(p, k.Public().(ed25519.PublicKey)) || len(KeyID(p)) != KeyIDLength {
		t.Fatalf("public key %v", err)
	}
	for _, bad := range []string{"", "not base64!", "AAAA", pub + "AA"} {
		if _, err := ParsePublicKey(bad); err == nil {
			t.Errorf("public %q accepted", bad)
		}
		if _, err := ParsePrivateKey(bad); err == nil {
			t.Errorf("private %q accepted", bad)
		}
	}
}

func sha256Of(s string) [32]byte { return sha256.Sum256([]byte(s)) }
