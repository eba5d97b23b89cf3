package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/skip2/go-qrcode"
)

// QR image parameters: defaults and limits.
const (
	defaultQRSize   = 512 // pixels (PNG) or the SVG's width and height
	minQRSize       = 32
	maxQRSize       = 4096
	defaultQRMargin = 4 // modules of quiet zone, what ISO/IEC 18004 asks for
	maxQRMargin     = 32
	// minQRContrast is the WCAG contrast ratio below which scanners start to
	// miss codes (yellow on white is about 1.1, mid orange on white 2.9).
	minQRContrast = 2.0
	// qrRenderVersion changes when the rendering changes, so ETags change.
	qrRenderVersion = "1"
)

var qrLevels = map[string]qrcode.RecoveryLevel{
	"L": qrcode.Low, "M": qrcode.Medium, "Q": qrcode.High, "H": qrcode.Highest,
}

var qrParams = []string{"size", "margin", "ecc", "fg", "bg"}

// qrOptions is a validated QR rendering request.
type qrOptions struct {
	Size   int
	Margin int
	ECC    string // L, M, Q or H
	FG, BG rgb
}

type rgb struct{ R, G, B uint8 }

func (c rgb) hex() string        { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }
func (c rgb) color() color.Color { return color.RGBA{R: c.R, G: c.G, B: c.B, A: 0xff} }

// parseColor reads 3 or 6 hex digits, with or without a leading '#'.
func parseColor(field, raw string) (rgb, error) {
	s := strings.TrimPrefix(raw, "#")
	if len(s) == 3 {
		s = string([]byte{s[0], s[0], s[1], s[1], s[2], s[2]})
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 3 {
		return rgb{}, errBadRequest(field, field+" must be a hex colour such as 000000 or 1a2b3c (or %23 and the digits)")
	}
	return rgb{b[0], b[1], b[2]}, nil
}

// contrastRatio is the WCAG 2 contrast ratio of two colours (1 to 21).
func contrastRatio(a, b rgb) float64 {
	lum := func(c rgb) float64 {
		ch := func(v uint8) float64 {
			x := float64(v) / 255
			if x <= 0.03928 {
				return x / 12.92
			}
			return math.Pow((x+0.055)/1.055, 2.4)
		}
		return 0.2126*ch(c.R) + 0.7152*ch(c.G) + 0.0722*ch(c.B)
	}
	la, lb := lum(a), lum(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// readQROptions validates the query parameters of a QR image request.
func readQROptions(c *gin.Context) (qrOptions, error) {
	q, err := strictQuery(c, qrParams)
	if err != nil {
		return qrOptions{}, err
	}
	opts := qrOptions{Size: defaultQRSize, Margin: defaultQRMargin, ECC: "M", FG: rgb{0, 0, 0}, BG: rgb{0xff, 0xff, 0xff}}
	if v, ok := q["size"]; ok {
		if opts.Size, err = intParam("size", v, minQRSize, maxQRSize); err != nil {
			return qrOptions{}, err
		}
	}
	if v, ok := q["margin"]; ok {
		if opts.Margin, err = intParam("margin", v, 0, maxQRMargin); err != nil {
			return qrOptions{}, err
		}
	}
	if v, ok := q["ecc"]; ok {
		opts.ECC = strings.ToUpper(v)
		if _, known := qrLevels[opts.ECC]; !known {
			return qrOptions{}, errBadRequest("ecc", "ecc must be L, M, Q or H (error correction of about 7, 15, 25 or 30 %)")
		}
	}
	if v, ok := q["fg"]; ok {
		if opts.FG, err = parseColor("fg", v); err != nil {
			return qrOptions{}, err
		}
	}
	if v, ok := q["bg"]; ok {
		if opts.BG, err = parseColor("bg", v); err != nil {
			return qrOptions{}, err
		}
	}
	if r := contrastRatio(opts.FG, opts.BG); r < minQRContrast {
		return qrOptions{}, errBadRequest("fg", fmt.Sprintf("fg %s on bg %s has a contrast ratio of %.1f:1; at least %.0f:1 is needed to scan reliably",
			opts.FG.hex(), opts.BG.hex(), r, minQRContrast))
	}
	return opts, nil
}

func intParam(field, raw string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, errBadRequest(field, fmt.Sprintf("%s must be an integer from %d to %d", field, lo, hi))
	}
	return n, nil
}

// qrModules encodes content and returns its module matrix without a quiet
// zone (true is dark).
func qrModules(content, ecc string) ([][]bool, error) {
	q, err := qrcode.New(content, qrLevels[ecc])
	if err != nil {
		return nil, fmt.Errorf("encode QR code: %w", err)
	}
	q.DisableBorder = true // the quiet zone is ours: opts.Margin
	return q.Bitmap(), nil
}

// checkPNGSize refuses a PNG too small for one pixel per module.
func checkPNGSize(modules [][]bool, opts qrOptions) error {
	n := len(modules)
	if total := n + 2*opts.Margin; opts.Size < total {
		return errBadRequest("size", fmt.Sprintf("size must be at least %d pixels for this code: %d modules plus a margin of %d on each side",
			total, n, opts.Margin))
	}
	return nil
}

// renderQRPNG draws the modules as a size×size two-colour PNG (checkPNGSize
// first). Every module is the same whole number of pixels (the library's
// own scaling stretches some modules by a pixel), centred, with the quiet
// zone around it.
func renderQRPNG(modules [][]bool, opts qrOptions) ([]byte, error) {
	total := len(modules) + 2*opts.Margin
	scale := opts.Size / total
	offset := (opts.Size-scale*total)/2 + opts.Margin*scale
	img := image.NewPaletted(image.Rect(0, 0, opts.Size, opts.Size), color.Palette{opts.BG.color(), opts.FG.color()})
	for y, row := range modules {
		for x, dark := range row {
			if !dark {
				continue
			}
			for py := offset + y*scale; py < offset+(y+1)*scale; py++ {
				line := img.Pix[py*img.Stride:]
				for px := offset + x*scale; px < offset+(x+1)*scale; px++ {
					line[px] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// renderQRSVG writes the modules as an SVG whose user unit is one module:
// a background rectangle and one path of horizontal runs of dark modules.
// Every value in it is a number or a validated hex colour, so it is
// well-formed without escaping.
func renderQRSVG(modules [][]bool, opts qrOptions) []byte {
	total := len(modules) + 2*opts.Margin
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%d" height="%d" viewBox="0 0 %d %d" shape-rendering="crispEdges">`+"\n"+
		`<rect width="%d" height="%d" fill="%s"/>`+"\n"+`<path fill="%s" d="`,
		opts.Size, opts.Size, total, total, total, total, opts.BG.hex(), opts.FG.hex())
	for y, row := range modules {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start+opts.Margin, y+opts.Margin, x-start, x-start)
		}
	}
	b.WriteString("\"/>\n</svg>\n")
	return b.Bytes()
}

// qrImage answers GET /codes/:id/qr.png and qr.svg: the code's /q/SLUG URL
// as a QR image. The ETag covers everything the image depends on (URL,
// format, parameters, renderer), so a client revalidates for free and gets
// a new image when the slug or the public URL changes.
func (s *server) qrImage(format string) gin.HandlerFunc {
	return func(c *gin.Context) {
		code, err := s.loadCode(c)
		if err != nil {
			writeError(c, s.log, err)
			return
		}
		opts, err := readQROptions(c)
		if err != nil {
			writeError(c, s.log, err)
			return
		}
		content := s.codeAnswer(code).QRURL
		modules, err := qrModules(content, opts.ECC)
		if err == nil && format == "png" {
			err = checkPNGSize(modules, opts)
		}
		if err != nil {
			writeError(c, s.log, err)
			return
		}
		sum := sha256.Sum256([]byte(strings.Join([]string{qrRenderVersion, format, content, strconv.Itoa(opts.Size),
			strconv.Itoa(opts.Margin), opts.ECC, opts.FG.hex(), opts.BG.hex()}, "\x00")))
		etag := `"qr-` + hex.EncodeToString(sum[:16]) + `"`
		c.Header("ETag", etag)
		c.Header("Cache-Control", "private, no-cache")
		if etagMatches(c.GetHeader("If-None-Match"), etag) {
			c.Status(http.StatusNotModified)
			return
		}
		var body []byte
		contentType := "image/svg+xml"
		if format == "png" {
			contentType = "image/png"
			if body, err = renderQRPNG(modules, opts); err != nil {
				c.Header("ETag", "")
				writeError(c, s.log, err)
				return
			}
		} else {
			body = renderQRSVG(modules, opts)
		}
		c.Header("Content-Disposition", fmt.Sprintf(`inline; filename="%s.%s"`, code.Slug, format))
		c.Header("X-Content-Type-Options", "nosniff")
		c.Data(http.StatusOK, contentType, body)
	}
}

// etagMatches implements If-None-Match's weak comparison: any listed tag
// (with or without W/) equal to etag, or "*".
func etagMatches(header, etag string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}
