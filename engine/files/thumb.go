package files

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// Thumbnails.
const (
	// ThumbSize is the longest side of a thumbnail, in pixels.
	ThumbSize = 256
	// MaxPixels bounds the images decoded for a thumbnail: an image's
	// header says its size before any pixel is decoded, and a few hundred
	// bytes of PNG may claim 100 000 × 100 000 pixels (40 GB once
	// decoded). Larger images are kept without a thumbnail. 40 megapixels
	// is 160 MB decoded, which thumbSlots bounds in turn.
	MaxPixels = 40_000_000
)

// thumbSlots bounds how many images this process decodes at once.
var thumbSlots = make(chan struct{}, 2)

// errNoThumb is an image this package does not make a thumbnail of (too
// large, or not decodable): the file is kept without one.
var errNoThumb = errors.New("files: no thumbnail for this image")

type codec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

// codecs are the image types that get a thumbnail, by sniffed type. Only
// these decoders run on uploads: image.Decode would try every format any
// linked package registered.
var codecs = map[string]codec{
	"image/png":  {png.DecodeConfig, png.Decode},
	"image/jpeg": {jpeg.DecodeConfig, jpeg.Decode},
	"image/gif":  {gif.DecodeConfig, gif.Decode},
	"image/webp": {webp.DecodeConfig, webp.Decode},
}

func thumbable(contentType string) bool {
	_, ok := codecs[contentType]
	return ok
}

// thumbType is a thumbnail's content type, from its key's extension.
func thumbType(key string) string {
	if strings.HasSuffix(key, ".png") {
		return "image/png"
	}
	return "image/jpeg"
}

// thumbnail decodes the image that open reads, checking its dimensions
// first, and returns it scaled to fit ThumbSize × ThumbSize: a JPEG for a
// JPEG, a PNG (which keeps transparency) otherwise, with its extension.
func thumbnail(open func() (io.ReadCloser, error), contentType string) ([]byte, string, error) {
	c, ok := codecs[contentType]
	if !ok {
		return nil, "", errNoThumb
	}
	cfg, err := withReader(open, c.config)
	if err != nil {
		return nil, "", errNoThumb
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, "", errNoThumb
	}
	thumbSlots <- struct{}{}
	defer func() { <-thumbSlots }()
	src, err := withReader(open, c.decode)
	if err != nil {
		return nil, "", errNoThumb
	}
	sb := src.Bounds()
	w, h := fit(sb.Dx(), sb.Dy(), ThumbSize)
	var buf bytes.Buffer
	if contentType == "image/jpeg" {
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.BiLinear.Scale(dst, dst.Bounds(), src, sb, draw.Src, nil)
		err = jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 82})
		return buf.Bytes(), ".jpg", err
	}
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.BiLinear.Scale(dst, dst.Bounds(), src, sb, draw.Src, nil)
	err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, dst)
	return buf.Bytes(), ".png", err
}

func withReader[T any](open func() (io.ReadCloser, error), fn func(io.Reader) (T, error)) (T, error) {
	var zero T
	r, err := open()
	if err != nil {
		return zero, fmt.Errorf("files: open upload: %w", err)
	}
	defer r.Close()
	return fn(r)
}

// fit scales w × h to fit side × side, keeping the aspect ratio and at
// least one pixel a side; an image already within it keeps its size.
func fit(w, h, side int) (int, int) {
	switch {
	case w <= side && h <= side:
		return w, h
	case w >= h:
		return side, max(1, h*side/w)
	}
	return max(1, w*side/h), side
}
