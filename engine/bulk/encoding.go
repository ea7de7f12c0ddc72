package bulk

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Encodings a CSV file may be in.
const (
	EncUTF8    = "utf-8"
	EncGB18030 = "gb18030" // GBK and GB2312 are subsets
	EncUTF16   = "utf-16"  // Excel's "Unicode text", with its BOM
)

var bomUTF8 = []byte{0xEF, 0xBB, 0xBF}

// scanChunk is how much of a file one read of the detection pass takes.
const scanChunk = 64 << 10

// normEncoding names enc by one of the Enc constants ("" when unknown).
func normEncoding(enc string) string {
	switch strings.ToLower(strings.TrimSpace(strings.ReplaceAll(enc, "_", "-"))) {
	case "utf-8", "utf8":
		return EncUTF8
	case "gb18030", "gbk", "gb2312", "cp936":
		return EncGB18030
	case "utf-16", "utf16", "utf-16le", "utf-16be":
		return EncUTF16
	}
	return ""
}

// detectEncoding reads r (size bytes) once or twice, in chunks: a UTF-16
// BOM says UTF-16; text that is valid UTF-8 is UTF-8; else text that
// GB18030 decodes with no invalid sequence is GB18030; else the file is
// not text (a NUL byte anywhere says so at once). It returns the encoding
// and how many BOM bytes to skip.
func detectEncoding(r io.ReaderAt, size int64) (enc string, skip int64, err error) {
	head := make([]byte, 3)
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return EncUTF16, 0, nil // the decoder reads its BOM
	case bytes.HasPrefix(head, bomUTF8):
		skip = 3
	}
	valid, err := scanUTF8(io.NewSectionReader(r, skip, size-skip))
	if err != nil {
		return "", 0, err
	}
	if valid {
		return EncUTF8, skip, nil
	}
	if skip == 3 {
		return "", 0, unreadable("the file starts as UTF-8 (with a BOM) but has bytes that are not UTF-8")
	}
	if err := scanDecoded(io.NewSectionReader(r, 0, size), simplifiedchinese.GB18030.NewDecoder()); err != nil {
		return "", 0, err
	}
	return EncGB18030, 0, nil
}

// scanUTF8 says whether r is valid UTF-8; a NUL byte is a binary file.
func scanUTF8(r io.Reader) (bool, error) {
	buf := make([]byte, scanChunk+utf8.UTFMax)
	carry := 0 // bytes of an incomplete rune from the last chunk
	valid := true
	for {
		n, err := r.Read(buf[carry : carry+scanChunk])
		data := buf[:carry+n]
		if bytes.IndexByte(data[carry:], 0) >= 0 {
			return false, binaryFile()
		}
		end := len(data)
		if err == nil {
			// Keep a rune cut by the chunk's end for the next read.
			for i := 1; i <= utf8.UTFMax-1 && i <= end; i++ {
				if utf8.RuneStart(data[end-i]) {
					if !utf8.FullRune(data[end-i:]) {
						end -= i
					}
					break
				}
			}
		}
		if valid && !utf8.Valid(data[:end]) {
			valid = false // go on: a NUL further on still says binary
		}
		carry = copy(buf, data[end:])
		if err == io.EOF {
			if carry > 0 {
				valid = false
			}
			return valid, nil
		}
		if err != nil {
			return false, unreadable("the file cannot be read: " + err.Error())
		}
	}
}

// scanDecoded decodes r with dec and fails when an invalid sequence (the
// decoder's U+FFFD) or a NUL shows up.
func scanDecoded(r io.Reader, dec *encoding.Decoder) error {
	tr := transform.NewReader(r, dec)
	buf := make([]byte, scanChunk)
	for {
		n, err := tr.Read(buf)
		if bytes.IndexByte(buf[:n], 0) >= 0 {
			return binaryFile()
		}
		if bytes.Contains(buf[:n], []byte("\uFFFD")) {
			return unreadable("the file is neither UTF-8 nor GBK/GB18030 text; save it as CSV UTF-8 or as .xlsx")
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return unreadable("the file cannot be read: " + err.Error())
		}
	}
}

// decoder returns the decoder of enc (nil for UTF-8).
func decoder(enc string) *encoding.Decoder {
	switch enc {
	case EncGB18030:
		return simplifiedchinese.GB18030.NewDecoder()
	case EncUTF16:
		return unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewDecoder()
	}
	return nil
}

func binaryFile() *FileError {
	return &FileError{Code: CodeUnreadable, Reason: "the file is not text (it has NUL bytes): a CSV must be text; an Excel workbook must be .xlsx"}
}

func unreadable(reason string) *FileError {
	return &FileError{Code: CodeUnreadable, Reason: reason}
}
