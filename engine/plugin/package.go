package plugin

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/formaapp/forma/schema"
)

// A package is plugin.json, top-level *.js files, test/*.json fixtures
// and an optional README.md; a .zip of them adds SignatureFile.
const (
	ManifestFile  = "plugin.json"
	SignatureFile = "forma-signature.json"
	// MaxFiles bounds the entries of a package: a zip of a hundred
	// thousand empty files is refused before it costs anything.
	MaxFiles = 200
	// maxZipBytes bounds a .zip itself: its content (MaxPackageBytes)
	// stored uncompressed plus the headers of MaxFiles entries.
	maxZipBytes = MaxPackageBytes + 1<<20
	// KeyIDLength is the number of hex characters of a key id.
	KeyIDLength = 16
)

// Errors of reading, installing and removing packages; each comes
// wrapped in a *RefusedError that says what the API answers.
var (
	ErrUnsigned  = errors.New("plugin: the package is not signed")
	ErrSignature = errors.New("plugin: the package is broken or was changed after it was signed")
	ErrUntrusted = errors.New("plugin: the package is signed by a key this server does not trust")
	ErrInvalid   = errors.New("plugin: the package is not a valid plugin")
	ErrBuiltin   = errors.New("plugin: a built-in plugin cannot be removed")
	ErrNotFound  = errors.New("plugin: no such plugin")
)

// Codes of RefusedError, as the API answers them.
const (
	CodeUnsigned  = "plugin_unsigned"   // 422
	CodeSignature = "plugin_signature"  // 422
	CodeUntrusted = "plugin_untrusted"  // 422
	CodeInvalid   = "plugin_invalid"    // 422, Details: the manifest's problems
	CodeBuiltin   = "plugin_builtin"    // 409
	CodeInUse     = "plugin_in_use"     // 409
	CodeNotFound  = "not_found"         // 404
	CodeConfig    = "validation_failed" // 422, Details at /settings/x, /secrets/y
)

// RefusedError is a package, a removal or a configuration the service
// refuses. Status and Code are the API's answer; Details the problems
// (manifest pointers, or /settings/x and /secrets/y). Message never holds
// a secret. errors.Is matches the Err* it wraps.
type RefusedError struct {
	Status  int
	Code    string
	Message string
	Details schema.Problems
	err     error
}

func (e *RefusedError) Error() string { return "plugin: " + e.Message }
func (e *RefusedError) Unwrap() error { return e.err }

func refused(sentinel error, format string, args ...any) *RefusedError {
	status, code := 422, CodeInvalid
	switch sentinel {
	case ErrUnsigned:
		code = CodeUnsigned
	case ErrSignature:
		code = CodeSignature
	case ErrUntrusted:
		code = CodeUntrusted
	case ErrBuiltin:
		status, code = 409, CodeBuiltin
	case ErrInUse:
		status, code = 409, CodeInUse
	case ErrNotFound:
		status, code = 404, CodeNotFound
	}
	return &RefusedError{Status: status, Code: code, Message: fmt.Sprintf(format, args...), err: sentinel}
}

// Package is a package read from disk or an upload, not yet installed.
type Package struct {
	Manifest *schema.Manifest
	Files    map[string]string
	SHA256   string // hex digest of the content (see Digest)
	Signer   string // the key id that signed it; "" unsigned
	Signed   bool   // the signature verified against Signer's key
	Folder   bool   // read from a folder (always unsigned)

	key ed25519.PublicKey // the signing key (trust compares whole keys, not ids)
}

// signature is forma-signature.json.
type signature struct {
	SHA256    string `json:"sha256"`
	Key       string `json:"key"`
	Signature string `json:"signature"`
}

// Digest is the content digest a package is signed over: SHA-256 of its
// files sorted by name, each as name, NUL, decimal size, NUL, content.
func Digest(files map[string]string) [32]byte {
	names := make([]string, 0, len(files))
	for n := range files {
		if n != SignatureFile {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		c := files[n]
		io.WriteString(h, n)
		h.Write([]byte{0})
		io.WriteString(h, strconv.Itoa(len(c)))
		h.Write([]byte{0})
		io.WriteString(h, c)
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// KeyID is a public key's id: the first 16 hex characters of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:])[:KeyIDLength]
}

// b64 reads base64 strictly: a changed padding bit is a change.
var b64 = base64.StdEncoding.Strict()

// GenerateKey makes a signing key pair: the private key file's text (the
// base64 seed) and the public key's (base64).
func GenerateKey() (private, public string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("plugin: generate a key: %w", err)
	}
	return b64.EncodeToString(priv.Seed()) + "\n", b64.EncodeToString(pub) + "\n", nil
}

// ParsePrivateKey reads a private key file's text (the base64 seed).
func ParsePrivateKey(text string) (ed25519.PrivateKey, error) {
	seed, err := b64.DecodeString(strings.TrimSpace(text))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("plugin: not a signing key (the base64 of a 32-byte ed25519 seed, as forma plugin keygen writes)")
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// ParsePublicKey reads a public key (base64 of 32 bytes).
func ParsePublicKey(text string) (ed25519.PublicKey, error) {
	b, err := b64.DecodeString(strings.TrimSpace(text))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("plugin: not a public key (the base64 of a 32-byte ed25519 key, as forma plugin keygen writes)")
	}
	return ed25519.PublicKey(b), nil
}

// Load reads a plugin package from a folder or a .zip file on disk.
func Load(p string) (*Package, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("plugin: %w", err)
	}
	if st.IsDir() {
		pkg, err := ReadFolder(os.DirFS(p))
		if err != nil {
			return nil, err
		}
		return pkg, nil
	}
	if st.Size() > maxZipBytes {
		return nil, refused(ErrInvalid, "the package is larger than %d MB", MaxPackageBytes>>20)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("plugin: %w", err)
	}
	return ReadZip(data)
}

// ReadFolder reads a package folder: plugin.json, the top-level *.js,
// README.md, test/*.json. Nothing else is read; a symbolic link among
// them is refused.
func ReadFolder(fsys fs.FS) (*Package, error) {
	files := map[string]string{}
	total := 0
	read := func(name string, d fs.DirEntry) error {
		if d.Type()&fs.ModeSymlink != 0 || !d.Type().IsRegular() {
			return refused(ErrInvalid, "%s is a link or not a regular file", name)
		}
		if len(files) >= MaxFiles {
			return refused(ErrInvalid, "the package has more than %d files", MaxFiles)
		}
		f, err := fsys.Open(name)
		if err != nil {
			return fmt.Errorf("plugin: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, int64(MaxPackageBytes-total)+1))
		if err != nil {
			return fmt.Errorf("plugin: read %s: %w", name, err)
		}
		total += len(b)
		if total > MaxPackageBytes {
			return refused(ErrInvalid, "the package is larger than %d MB", MaxPackageBytes>>20)
		}
		files[name] = string(b)
		return nil
	}
	top, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("plugin: %w", err)
	}
	for _, d := range top {
		n := d.Name()
		switch {
		case n == "test" && d.Type()&fs.ModeSymlink != 0:
			return nil, refused(ErrInvalid, "test is a link")
		case n == "test" && d.IsDir():
			tests, err := fs.ReadDir(fsys, "test")
			if err != nil {
				return nil, fmt.Errorf("plugin: %w", err)
			}
			for _, t := range tests {
				if strings.HasSuffix(t.Name(), ".json") {
					if err := read("test/"+t.Name(), t); err != nil {
						return nil, err
					}
				}
			}
		case n == ManifestFile, n == "README.md", strings.HasSuffix(n, ".js"):
			if err := read(n, d); err != nil {
				return nil, err
			}
		}
	}
	pkg, err := newPackage(files)
	if err != nil {
		return nil, err
	}
	pkg.Folder = true
	return pkg, nil
}

// ReadZip reads a package from a .zip's bytes. A signed one must verify
// and be exactly as Pack writes it, so that one byte changed anywhere is
// refused: in a file (its CRC and the digest), in the signature, or in
// a header (the zip no longer matches its canonical form).
func ReadZip(data []byte) (*Package, error) {
	if len(data) > maxZipBytes {
		return nil, refused(ErrInvalid, "the package is larger than %d MB", MaxPackageBytes>>20)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, refused(ErrSignature, "the package is not a readable zip: %v", err)
	}
	if len(zr.File) > MaxFiles+1 {
		return nil, refused(ErrInvalid, "the package has more than %d files", MaxFiles)
	}
	// In a signed package every fault is a change made after signing.
	signed := false
	for _, f := range zr.File {
		signed = signed || f.Name == SignatureFile
	}
	pkg, err := readZip(zr, data)
	if err != nil && signed {
		var re *RefusedError
		if errors.As(err, &re) && re.Code != CodeSignature {
			e := refused(ErrSignature, "%s", re.Message)
			e.Details = re.Details
			return nil, e
		}
	}
	return pkg, err
}

func readZip(zr *zip.Reader, data []byte) (*Package, error) {
	files := map[string]string{}
	var sigText string
	hasSig := false
	total := 0
	for _, f := range zr.File {
		name := f.Name
		if strings.HasSuffix(name, "/") && f.UncompressedSize64 == 0 {
			if f.Mode()&fs.ModeSymlink != 0 {
				return nil, refused(ErrInvalid, "%s is a link", name)
			}
			continue // a folder entry ("test/"), as zip tools write them
		}
		if msg := entryProblem(name); msg != "" {
			return nil, refused(ErrInvalid, "zip entry %q %s", name, msg)
		}
		if f.Mode()&fs.ModeSymlink != 0 || !f.Mode().IsRegular() {
			return nil, refused(ErrInvalid, "zip entry %q is a link or not a regular file", name)
		}
		if _, dup := files[name]; dup || (name == SignatureFile && hasSig) {
			return nil, refused(ErrInvalid, "zip entry %q is there twice", name)
		}
		if f.UncompressedSize64 > uint64(MaxPackageBytes-total) {
			return nil, refused(ErrInvalid, "the package is larger than %d MB", MaxPackageBytes>>20)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, refused(ErrSignature, "zip entry %q cannot be read: %v", name, err)
		}
		// The declared size may lie: read at most what is left, and one
		// more byte to notice.
		b, err := io.ReadAll(io.LimitReader(rc, int64(MaxPackageBytes-total)+1))
		rc.Close()
		if err != nil {
			return nil, refused(ErrSignature, "zip entry %q is damaged: %v", name, err)
		}
		total += len(b)
		if total > MaxPackageBytes {
			return nil, refused(ErrInvalid, "the package is larger than %d MB", MaxPackageBytes>>20)
		}
		if uint64(len(b)) != f.UncompressedSize64 {
			return nil, refused(ErrSignature, "zip entry %q is damaged: its size does not match", name)
		}
		if name == SignatureFile {
			sigText, hasSig = string(b), true
			continue
		}
		if !allowedEntry(name) {
			return nil, refused(ErrInvalid, "zip entry %q is not part of a plugin (plugin.json, *.js, README.md, test/*.json)", name)
		}
		files[name] = string(b)
	}
	pkg, err := newPackage(files)
	if err != nil {
		return nil, err
	}
	if !hasSig {
		return pkg, nil
	}
	var sig signature
	d := json.NewDecoder(strings.NewReader(sigText))
	d.DisallowUnknownFields()
	if err := d.Decode(&sig); err != nil {
		return nil, refused(ErrSignature, "%s does not read: %v", SignatureFile, err)
	}
	digest, _ := hex.DecodeString(pkg.SHA256)
	if sig.SHA256 != pkg.SHA256 {
		return nil, refused(ErrSignature, "the content's digest does not match %s", SignatureFile)
	}
	pub, err := b64.DecodeString(sig.Key)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, refused(ErrSignature, "%s holds no valid key", SignatureFile)
	}
	s, err := b64.DecodeString(sig.Signature)
	if err != nil || !ed25519.Verify(pub, digest, s) {
		return nil, refused(ErrSignature, "the signature does not verify")
	}
	canonical, err := writeZip(pkg.Files, []byte(sigText))
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canonical, data) {
		return nil, refused(ErrSignature, "the zip is not as forma plugin pack wrote it (a header was changed)")
	}
	pkg.key, pkg.Signer, pkg.Signed = pub, KeyID(pub), true
	return pkg, nil
}

// entryProblem says why a zip entry's name is refused ("" when it is
// not): absolute, climbing out (zip-slip), Windows separators, not UTF-8.
func entryProblem(name string) string {
	switch {
	case name == "" || !utf8.ValidString(name) || strings.ContainsAny(name, "\x00\\:"):
		return "has a name that is not a plain relative path"
	case strings.HasPrefix(name, "/"):
		return "is an absolute path"
	case path.Clean(name) != name || strings.Contains(name, ".."):
		return "leaves the package's folder or is not a clean path"
	}
	return ""
}

// allowedEntry says whether a package holds a file of this name.
func allowedEntry(name string) bool {
	if name == ManifestFile || name == "README.md" {
		return true
	}
	if dir, file, ok := strings.Cut(name, "/"); ok {
		return dir == "test" && strings.HasSuffix(file, ".json") && !strings.Contains(file, "/")
	}
	return strings.HasSuffix(name, ".js")
}

// newPackage checks the files of a package (text, the manifest, the main
// script) and computes its digest.
func newPackage(files map[string]string) (*Package, error) {
	for _, n := range sortedNames(files) {
		c := files[n]
		if !utf8.ValidString(c) || strings.IndexByte(c, 0) >= 0 {
			return nil, refused(ErrInvalid, "%s is not UTF-8 text", n)
		}
	}
	raw, ok := files[ManifestFile]
	if !ok {
		return nil, refused(ErrInvalid, "the package has no %s", ManifestFile)
	}
	m, probs := schema.ParseManifest([]byte(raw))
	if len(probs) > 0 {
		e := refused(ErrInvalid, "%s has %d problem(s)", ManifestFile, len(probs))
		e.Details = probs
		return nil, e
	}
	main := m.Main
	if main == "" {
		main = "index.js"
	}
	if _, ok := files[main]; !ok {
		e := refused(ErrInvalid, "%s has 1 problem(s)", ManifestFile)
		e.Details = schema.Problems{{Path: "/main", Code: "required", Params: map[string]any{"key": main},
			Message: fmt.Sprintf("the main script %s is not in the package", main)}}
		return nil, e
	}
	d := Digest(files)
	return &Package{Manifest: m, Files: files, SHA256: hex.EncodeToString(d[:])}, nil
}

func sortedNames(files map[string]string) []string { return slices.Sorted(maps.Keys(files)) }

// Pack signs a package read from a folder and returns its .zip: the
// files sorted by name, stored, with fixed times, then the signature.
func Pack(pkg *Package, key ed25519.PrivateKey) ([]byte, error) {
	d := Digest(pkg.Files)
	pub := key.Public().(ed25519.PublicKey)
	sig, err := json.Marshal(signature{
		SHA256:    hex.EncodeToString(d[:]),
		Key:       b64.EncodeToString(pub),
		Signature: b64.EncodeToString(ed25519.Sign(key, d[:])),
	})
	if err != nil {
		return nil, fmt.Errorf("plugin: sign: %w", err)
	}
	return writeZip(pkg.Files, sig)
}

// writeZip writes the canonical zip of a package: entries sorted by name,
// stored (no compression, so the bytes never depend on a compressor's
// version), dated 1980-01-01, without extra fields, the signature last.
func writeZip(files map[string]string, sig []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, content []byte) error {
		fh := &zip.FileHeader{
			Name: name, Method: zip.Store,
			CRC32:              crc32.ChecksumIEEE(content),
			CompressedSize64:   uint64(len(content)),
			UncompressedSize64: uint64(len(content)),
			ModifiedDate:       33, // 1980-01-01, the first date a zip can hold
		}
		fh.SetMode(0o644)
		w, err := zw.CreateRaw(fh)
		if err != nil {
			return err
		}
		_, err = w.Write(content)
		return err
	}
	for _, n := range sortedNames(files) {
		if n == SignatureFile {
			continue
		}
		if err := add(n, []byte(files[n])); err != nil {
			return nil, fmt.Errorf("plugin: write the zip: %w", err)
		}
	}
	if err := add(SignatureFile, sig); err != nil {
		return nil, fmt.Errorf("plugin: write the zip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("plugin: write the zip: %w", err)
	}
	return buf.Bytes(), nil
}
