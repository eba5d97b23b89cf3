package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/scanforge/scanforge/webhook"
)

// runReceive is a tiny webhook receiver for trying ScanForge out: it verifies
// each delivery's signature with the endpoint secret and prints the event.
func runReceive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var port, status *int
	var secret *string
	_, err := receiveCommand.parse(args, stdout, stderr, 0, func(fs *flag.FlagSet) {
		port = fs.Int("port", 9000, "port to listen on (127.0.0.1)")
		secret = fs.String("secret", os.Getenv("SCANFORGE_WEBHOOK_SECRET"), "endpoint secret (whsec_…) to verify signatures; empty prints without verifying")
		status = fs.Int("status", http.StatusOK, "HTTP status to answer with (e.g. 503 to watch retries)")
	})
	if err != nil {
		return err
	}
	if *status < 200 || *status > 599 {
		return fmt.Errorf("--status %d: want an HTTP status between 200 and 599", *status)
	}
	verifier := webhook.Verifier{Secret: *secret}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		var err error
		verdict := "signature not checked (no --secret)"
		answer := *status
		if *secret != "" {
			body, err = verifier.VerifyRequest(r)
			verdict = "signature OK"
			if err != nil {
				// Reject what does not verify, as a real receiver must.
				verdict, answer = "signature INVALID, answered 401: "+err.Error(), http.StatusUnauthorized
			}
		} else {
			body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, webhook.MaxBodyBytes))
		}
		fmt.Fprintf(stdout, "%s %s %s  attempt %s  %s\n", time.Now().Format(time.TimeOnly), r.Method, r.URL.Path,
			r.Header.Get("X-ScanForge-Attempt"), verdict)
		var pretty any
		if json.Unmarshal(body, &pretty) == nil {
			out, _ := json.MarshalIndent(pretty, "  ", "  ")
			fmt.Fprintf(stdout, "  %s\n", out)
		}
		w.WriteHeader(answer)
		io.WriteString(w, http.StatusText(answer))
	})
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "receiving webhooks on http://%s/ (answering %d)\n", ln.Addr(), *status)
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
