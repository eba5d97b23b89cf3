package activities_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scanforge/scanforge/activities"
	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
)

// recipesDoc holds the body-only signature recipes; each runnable one
// follows a "<!-- recipe-test: NAME -->" line as a fenced code block.
const recipesDoc = "../docs/receiving-webhooks.md"

var recipeBlock = regexp.MustCompile("(?s)<!-- recipe-test: ([a-z-]+) -->\\s*```[a-z]*\\n(.*?)\\n```")

func docRecipes(t *testing.T) map[string]string {
	t.Helper()
	doc, err := os.ReadFile(recipesDoc)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range recipeBlock.FindAllStringSubmatch(string(doc), -1) {
		out[m[1]] = m[2]
	}
	return out
}

// signedDelivery is one real delivery of a scan.created event to an
// endpoint with body_signature, as its receiver got it.
type signedDelivery struct {
	secret string
	header http.Header
	body   []byte
}

func realSignedDelivery(t *testing.T) signedDelivery {
	t.Helper()
	lat, lon := 47.3769, 8.5417
	payload, err := outbox.ScanCreatedEvent(models.Scan{
		ID: "scan_01m8exwc94m1q3fa19n75vhfyd", CodeID: "code_01m8exw9ghcs4rt7n4aq8t43mr", Slug: "menu", CodeName: "Menü <Sommer> & Co",
		Timestamp: testNow, Source: "qr", DestinationURL: "https://shop.example.com/?a=1&b=2",
		Country: "Switzerland", CountryCode: "CH", City: "Zürich", Latitude: &lat, Longitude: &lon,
		DeviceType: "mobile", Referrer: "https://instagram.com/?x=1&y=2", UserAgent: "Mozilla/5.0 (iPhone) 🚀",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(payload, []byte(`\u0026`)) || !bytes.Contains(payload, []byte("ü")) {
		t.Fatalf("payload lacks the escapes and UTF-8 the recipes must survive: %s", payload)
	}
	rcv := newReceiver(t, answer(http.StatusNoContent, nil, ""))
	secret := newSecret(t)
	store := newFakeStore(models.Endpoint{ID: "ep_1", URL: rcv.URL, Secret: secret, Enabled: true, BodySignature: true})
	d := activities.NewDeliverer(store, activities.Options{})
	res, err := d.Attempt(context.Background(), activities.AttemptInput{EndpointID: "ep_1", EventID: outbox.EventID("scan_01m8exwc94m1q3fa19n75vhfyd"), Payload: payload, Attempt: 1})
	if err != nil || res.Outcome != activities.OutcomeDelivered {
		t.Fatalf("Attempt = %+v, %v", res, err)
	}
	got := rcv.received()[0]
	if err := webhook.VerifyBody(secret, got.header.Get(webhook.HeaderBodySignature), got.body); err != nil {
		t.Fatalf("the delivery itself does not verify: %v", err)
	}
	return signedDelivery{secret: secret, header: got.header, body: got.body}
}

// lowerHeaders is how Lambda function URLs and Pipedream pass headers.
func lowerHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return out
}

// harness runs a recipe inside a stand-in for its platform and prints
// "valid" or "invalid". Each reads the delivery from the file named by
// $DELIVERY: {"body": …, "headers": {…}}.
var harnesses = map[string]struct{ runtime, file, code string }{
	"zapier-js": {"node", "zapier.cjs", `
const d = JSON.parse(require('fs').readFileSync(process.env.DELIVERY, 'utf8'));
const inputData = { body: d.body, signature: d.headers['x-scanforge-signature-256'], secret: process.env.SCANFORGE_WEBHOOK_SECRET };
(async () => {
RECIPE
})().then((out) => console.log(out.valid === true ? 'valid' : 'invalid'));
`},
	"pipedream-js": {"node", "pipedream.mjs", `
import fs from "node:fs";
globalThis.defineComponent = (c) => c;
const d = JSON.parse(fs.readFileSync(process.env.DELIVERY, "utf8"));
const { default: component } = await import("./recipe.mjs");
let exited = false;
const out = await component.run({ steps: { trigger: { event: { bodyRaw: d.body, headers: d.headers } } }, $: { flow: { exit: () => { exited = true; } } } });
console.log(!exited && out && out.type === "scan.created" ? "valid" : "invalid");
`},
	"lambda-node": {"node", "lambda.mjs", `
import fs from "node:fs";
const d = JSON.parse(fs.readFileSync(process.env.DELIVERY, "utf8"));
const { handler } = await import("./recipe.mjs");
const res = await handler({ headers: d.headers, body: d.body, isBase64Encoded: false });
console.log(res.statusCode === 204 ? "valid" : "invalid");
`},
	"lambda-python": {"python3", "lambda.py", `
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recipe
d = json.load(open(os.environ["DELIVERY"], encoding="utf-8"))
res = recipe.handler({"headers": d["headers"], "body": d["body"], "isBase64Encoded": False}, None)
print("valid" if res["statusCode"] == 204 else "invalid")
`},
}

// TestBodySignatureRecipesInTheDocs runs every JavaScript and Python recipe
// of docs/receiving-webhooks.md against a real delivery: it accepts the
// delivery as sent and rejects it with a changed body or another secret.
func TestBodySignatureRecipesInTheDocs(t *testing.T) {
	recipes := docRecipes(t)
	for name := range harnesses {
		if recipes[name] == "" {
			t.Errorf("docs: no recipe %q", name)
		}
	}
	for name := range recipes {
		if _, ok := harnesses[name]; !ok {
			t.Errorf("docs: recipe %q has no harness in this test", name)
		}
	}
	d := realSignedDelivery(t)
	tampered := bytes.Replace(d.body, []byte(`"is_bot":false`), []byte(`"is_bot":true`), 1)
	if bytes.Equal(tampered, d.body) {
		t.Fatal("could not tamper with the body")
	}
	otherSecret := newSecret(t)
	cases := []struct {
		name, secret string
		body         []byte
		want         string
	}{
		{"as delivered", d.secret, d.body, "valid"},
		{"tampered body", d.secret, tampered, "invalid"},
		{"other secret", otherSecret, d.body, "invalid"},
	}
	for name, h := range harnesses {
		t.Run(name, func(t *testing.T) {
			bin, err := exec.LookPath(h.runtime)
			if err != nil {
				t.Skipf("%s not installed", h.runtime)
			}
			dir := t.TempDir()
			recipeFile := "recipe.mjs"
			if h.runtime == "python3" {
				recipeFile = "recipe.py"
			}
			code := strings.Replace(h.code, "RECIPE", recipes[name], 1)
			if name != "zapier-js" {
				writeFile(t, filepath.Join(dir, recipeFile), recipes[name])
			}
			writeFile(t, filepath.Join(dir, h.file), code)
			for _, c := range cases {
				delivery, _ := json.Marshal(map[string]any{"body": string(c.body), "headers": lowerHeaders(d.header)})
				deliveryFile := filepath.Join(dir, "delivery.json")
				writeFile(t, deliveryFile, string(delivery))
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				cmd := exec.CommandContext(ctx, bin, filepath.Join(dir, h.file))
				cmd.Env = append(os.Environ(), "DELIVERY="+deliveryFile, "SCANFORGE_WEBHOOK_SECRET="+c.secret)
				out, err := cmd.CombinedOutput()
				cancel()
				if err != nil {
					t.Fatalf("%s: %v\n%s", c.name, err, out)
				}
				if got := strings.TrimSpace(string(out)); got != c.want {
					t.Errorf("%s: recipe says %q, want %q", c.name, got, c.want)
				}
			}
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
