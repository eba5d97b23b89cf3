package api_test

import (
	"bytes"
	"encoding/xml"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxingqr "github.com/makiuchi-d/gozxing/qrcode"
)

// decodeQR reads the text of the QR code in img with an independent decoder.
func decodeQR(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxingqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("decode QR: %v", err)
	}
	return res.GetText()
}

func sameColor(a, b color.Color) bool {
	r1, g1, b1, a1 := a.RGBA()
	r2, g2, b2, a2 := b.RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2
}

func TestQRPNGRoundTrip(t *testing.T) {
	e := newEnv(t, "sqlite")
	code := e.createCode("poster-1", "https://example.com/menu")
	base := "/api/v1/codes/" + code["id"].(string) + "/qr.png"
	want := baseURL + "/q/poster-1"

	tests := []struct {
		query  string
		size   int
		fg, bg color.Color
	}{
		{"", 512, color.Black, color.White},
		{"?size=300&margin=1&ecc=H", 300, color.Black, color.White},
		{"?size=1000&margin=10&ecc=l", 1000, color.Black, color.White},
		{"?ecc=Q&fg=1a237e&bg=%23fffde7", 512, color.RGBA{0x1a, 0x23, 0x7e, 0xff}, color.RGBA{0xff, 0xfd, 0xe7, 0xff}},
		{"?fg=fff&bg=000&margin=2", 512, color.White, color.Black}, // inverted colours
		{"?size=64&margin=1&ecc=L", 64, color.Black, color.White},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			rec := e.do(request{Method: "GET", Path: base + tt.query, Key: e.key})
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "image/png" {
				t.Fatalf("Content-Type %q", ct)
			}
			img, err := png.Decode(rec.Body)
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != tt.size || b.Dy() != tt.size {
				t.Fatalf("image is %v, want %dx%d", b, tt.size, tt.size)
			}
			if !sameColor(img.At(0, 0), tt.bg) {
				t.Errorf("corner pixel %v, want background %v", img.At(0, 0), tt.bg)
			}
			decodable := img
			if tt.fg == color.White { // an independent decoder wants dark on light
				decodable = invert(img)
			}
			if got := decodeQR(t, decodable); got != want {
				t.Fatalf("decoded %q, want %q", got, want)
			}
		})
	}

	// With margin=0 the finder pattern starts in the corner: dark pixel.
	rec := e.do(request{Method: "GET", Path: base + "?size=290&margin=0", Key: e.key})
	img, err := png.Decode(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	// 290 px over a 25- or 29-module code leaves a few px of centring at most.
	if !sameColor(img.At(10, 10), color.Black) {
		t.Errorf("margin=0: pixel (10,10) = %v, want the dark finder pattern", img.At(10, 10))
	}
}

func invert(img image.Image) image.Image {
	b := img.Bounds()
	out := image.NewGray(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g := color.GrayModel.Convert(img.At(x, y)).(color.Gray)
			out.SetGray(x, y, color.Gray{Y: 255 - g.Y})
		}
	}
	return out
}

var svgRun = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)

func TestQRSVG(t *testing.T) {
	e := newEnv(t, "sqlite")
	code := e.createCode("svg-code", "https://example.com/")
	rec := e.do(request{Method: "GET", Path: "/api/v1/codes/" + code["id"].(string) + "/qr.svg?size=256&margin=3&fg=%23123456", Key: e.key})
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "image/svg+xml" {
		t.Fatalf("Content-Type %q", ct)
	}
	body := rec.Body.Bytes()

	// Well-formed XML whose root is an SVG element in the SVG namespace.
	type svgDoc struct {
		XMLName xml.Name `xml:"http://www.w3.org/2000/svg svg"`
		Width   string   `xml:"width,attr"`
		ViewBox string   `xml:"viewBox,attr"`
		Rect    struct {
			Fill string `xml:"fill,attr"`
		} `xml:"rect"`
		Path struct {
			Fill string `xml:"fill,attr"`
			D    string `xml:"d,attr"`
		} `xml:"path"`
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
	}
	var doc svgDoc
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Width != "256" || doc.Rect.Fill != "#ffffff" || doc.Path.Fill != "#123456" {
		t.Fatalf("svg attributes: %+v", doc)
	}
	vb := strings.Fields(doc.ViewBox)
	if len(vb) != 4 {
		t.Fatalf("viewBox %q", doc.ViewBox)
	}
	modules, _ := strconv.Atoi(vb[2])

	// Rasterise the runs and decode them: the SVG draws the same code.
	const scale = 8
	img := image.NewGray(image.Rect(0, 0, modules*scale, modules*scale))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	runs := svgRun.FindAllStringSubmatch(doc.Path.D, -1)
	if len(runs) == 0 || strings.Join(svgRun.FindAllString(doc.Path.D, -1), "") != doc.Path.D {
		t.Fatalf("path is not a list of runs: %.200s", doc.Path.D)
	}
	minX := modules
	for _, r := range runs {
		x, _ := strconv.Atoi(r[1])
		y, _ := strconv.Atoi(r[2])
		w, _ := strconv.Atoi(r[3])
		minX = min(minX, x)
		for py := y * scale; py < (y+1)*scale; py++ {
			for px := x * scale; px < (x+w)*scale; px++ {
				img.Pix[py*img.Stride+px] = 0
			}
		}
	}
	if minX != 3 {
		t.Errorf("first dark module at x=%d, want the margin of 3", minX)
	}
	if got := decodeQR(t, img); got != baseURL+"/q/svg-code" {
		t.Fatalf("decoded %q", got)
	}
}

func TestQRETag(t *testing.T) {
	e := newEnv(t, "sqlite")
	code := e.createCode("etag-code", "https://example.com/")
	id := code["id"].(string)
	path := "/api/v1/codes/" + id + "/qr.png?size=200"

	first := e.do(request{Method: "GET", Path: path, Key: e.key})
	etag := first.Header().Get("ETag")
	if first.Code != http.StatusOK || !regexp.MustCompile(`^"qr-[0-9a-f]{32}"$`).MatchString(etag) {
		t.Fatalf("status %d, ETag %q", first.Code, etag)
	}
	if cc := first.Header().Get("Cache-Control"); cc != "private, no-cache" {
		t.Fatalf("Cache-Control %q", cc)
	}
	again := e.do(request{Method: "GET", Path: path, Key: e.key})
	if again.Header().Get("ETag") != etag || !bytes.Equal(again.Body.Bytes(), first.Body.Bytes()) {
		t.Fatal("same request, different ETag or image")
	}

	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		rec := e.do(request{Method: "GET", Path: path, Key: e.key, Header: http.Header{"If-None-Match": {inm}}})
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 || rec.Header().Get("ETag") != etag {
			t.Errorf("If-None-Match %s: status %d, %d bytes", inm, rec.Code, rec.Body.Len())
		}
	}
	if rec := e.do(request{Method: "GET", Path: path, Key: e.key, Header: http.Header{"If-None-Match": {`"stale"`}}}); rec.Code != http.StatusOK {
		t.Errorf("stale If-None-Match: status %d", rec.Code)
	}

	// Other parameters, another format, or a new slug: another ETag.
	seen := map[string]string{etag: path}
	for _, p := range []string{path + "&ecc=H", "/api/v1/codes/" + id + "/qr.svg?size=200"} {
		tag := e.do(request{Method: "GET", Path: p, Key: e.key}).Header().Get("ETag")
		if prev, dup := seen[tag]; dup {
			t.Errorf("%s has the ETag of %s", p, prev)
		}
		seen[tag] = p
	}
	e.call("PATCH", "/api/v1/codes/"+id, `{"slug":"etag-renamed"}`, http.StatusOK)
	rec := e.do(request{Method: "GET", Path: path, Key: e.key, Header: http.Header{"If-None-Match": {etag}}})
	if rec.Code != http.StatusOK || rec.Header().Get("ETag") == etag {
		t.Fatalf("after a slug change: status %d, ETag %q", rec.Code, rec.Header().Get("ETag"))
	}
	img, err := png.Decode(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeQR(t, img); got != baseURL+"/q/etag-renamed" {
		t.Fatalf("after a slug change the image says %q", got)
	}
}

func TestQRParameterValidation(t *testing.T) {
	e := newEnv(t, "sqlite")
	code := e.createCode("params", "https://example.com/")
	base := "/api/v1/codes/" + code["id"].(string)
	tests := []struct {
		path, field, message string
	}{
		{"/qr.png?size=abc", "size", "size must be an integer from 32 to 4096"},
		{"/qr.png?size=31", "size", "size must be an integer from 32 to 4096"},
		{"/qr.svg?size=5000", "size", "size must be an integer from 32 to 4096"},
		{"/qr.png?size=32", "size", "size must be at least"},
		{"/qr.png?margin=-1", "margin", "margin must be an integer from 0 to 32"},
		{"/qr.png?margin=33", "margin", "margin must be an integer from 0 to 32"},
		{"/qr.png?margin=1.5", "margin", "margin must be an integer"},
		{"/qr.png?ecc=X", "ecc", "ecc must be L, M, Q or H"},
		{"/qr.svg?ecc=", "ecc", "ecc must be L, M, Q or H"},
		{"/qr.png?fg=red", "fg", "fg must be a hex colour"},
		{"/qr.png?bg=%23ffff", "bg", "bg must be a hex colour"},
		{"/qr.png?fg=ffffff", "fg", "contrast ratio of 1.0:1"},
		{"/qr.svg?fg=ffcc00", "fg", "contrast ratio of 1.5:1"},
		{"/qr.png?colour=red", "colour", `unknown query parameter "colour"`},
		{"/qr.png?size=100&size=200", "size", "given more than once"},
		{"/qr.png?size=%zz", "", "query string is malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := e.do(request{Method: "GET", Path: base + tt.path, Key: e.key})
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", rec.Code, rec.Body)
			}
			errObj := errorOf(t, rec)
			if errObj["code"] != "bad_request" || (errObj["field"] != nil && errObj["field"] != tt.field) || (tt.field != "" && errObj["field"] != tt.field) {
				t.Errorf("error %v, want field %q", errObj, tt.field)
			}
			if msg, _ := errObj["message"].(string); !strings.Contains(msg, tt.message) {
				t.Errorf("message %q does not contain %q", msg, tt.message)
			}
			if rec.Header().Get("ETag") != "" {
				t.Errorf("an error answer carries an ETag")
			}
		})
	}

	// The minimum size named in the message renders; one pixel less does not.
	rec := e.do(request{Method: "GET", Path: base + "/qr.png?size=32&ecc=H", Key: e.key})
	m := regexp.MustCompile(`at least (\d+) pixels`).FindStringSubmatch(errorOf(t, rec)["message"].(string))
	if m == nil {
		t.Fatalf("no minimum size in %s", rec.Body)
	}
	minSize, _ := strconv.Atoi(m[1])
	if rec := e.do(request{Method: "GET", Path: base + "/qr.png?ecc=H&size=" + m[1], Key: e.key}); rec.Code != http.StatusOK {
		t.Fatalf("size=%d: %d %s", minSize, rec.Code, rec.Body)
	}
	if rec := e.do(request{Method: "GET", Path: base + "/qr.png?ecc=H&size=" + strconv.Itoa(minSize-1), Key: e.key}); rec.Code != http.StatusBadRequest {
		t.Fatalf("size=%d: %d", minSize-1, rec.Code)
	}

	// Another workspace's code, an unknown code and no API key.
	if rec := e.do(request{Method: "GET", Path: base + "/qr.png", Key: e.otherKey}); rec.Code != http.StatusNotFound {
		t.Errorf("other workspace: %d", rec.Code)
	}
	if rec := e.do(request{Method: "GET", Path: "/api/v1/codes/code_00000000000000000000000000/qr.svg", Key: e.key}); rec.Code != http.StatusNotFound {
		t.Errorf("unknown code: %d", rec.Code)
	}
	if rec := e.do(request{Method: "GET", Path: base + "/qr.png"}); rec.Code != http.StatusUnauthorized {
		t.Errorf("no key: %d", rec.Code)
	}
}
