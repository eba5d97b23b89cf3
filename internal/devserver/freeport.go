// The MIT License
//
// Copyright (c) 2022 Temporal Technologies Inc.  All rights reserved.
//
// Copyright (c) 2020 Uber Technologies, Inc.
//
// Copyright (c) 2021 Datadog, Inc.
//
// Permission is hereby granted, free of charge, to any person obtaining a copy
// of this software and associated documentation files (the "Software"), to deal
// in the Software without restriction, including without limitation the rights
// to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
// copies of the Software, and to permit persons to whom the Software is
// furnished to do so, subject to the following conditions:
//
// The above copyright notice and this permission notice shall be included in
// all copies or substantial portions of the Software.
//
// THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
// IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
// FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
// AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
// LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
// OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
// THE SOFTWARE.

// Adapted from github.com/temporalio/cli v1.9.1, internal/devserver/freeport.go.

package devserver

import (
	"fmt"
	"net"
	"runtime"
	"strconv"
)

// FreePort returns a TCP port on 127.0.0.1 that is free to listen on.
//
// Nothing reserves the port, but on Linux it will not be handed out again by
// the OS for a while: see freePort.
func FreePort() (int, error) {
	return freePort(defaultIP)
}

// freePort binds port 0 on host to let the OS pick a free port.
//
// On Linux and some BSDs ephemeral ports are randomized and may repeat soon
// after the listener closes. To prevent that, it connects to the port and
// closes the connection from the server side, which leaves it in TIME_WAIT
// (60 s on Linux): meanwhile the OS will not hand the port out for bind(:0),
// yet an explicit bind still works (Go sets SO_REUSEADDR). macOS and Windows
// allocate ephemeral ports sequentially, so the trick is not needed there.
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("assign a free port: %w", err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	if runtime.GOOS != "darwin" && runtime.GOOS != "windows" {
		r, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return 0, fmt.Errorf("assign a free port: %w", err)
		}
		defer r.Close()
		c, err := l.Accept()
		if err != nil {
			return 0, fmt.Errorf("assign a free port: %w", err)
		}
		// Closing from the server side is what puts the port in TIME_WAIT.
		c.Close()
	}
	return port, nil
}

// checkPortFree reports an error when host:port cannot be listened on.
func checkPortFree(host string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}
