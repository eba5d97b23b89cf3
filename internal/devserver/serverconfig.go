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

// Adapted from github.com/temporalio/cli v1.9.1, internal/devserver/server.go
// (the recipe of `temporal server start-dev`).
package devserver

import (
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/temporal"
)

func serverOptions(
	ip string,
	p ports,
	sqlConf *config.SQL,
	dynConf dynamicconfig.StaticClient,
	tlsOpts *TLS,
	logger *slog.Logger,
) []temporal.ServerOption {
	hostIP := dialableIP(ip)
	host := func(port int) static.Hosts {
		return static.SingleLocalHost(net.JoinHostPort(hostIP, strconv.Itoa(port)))
	}
	return []temporal.ServerOption{
		temporal.WithConfig(serverConfig(ip, p, sqlConf, tlsOpts)),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: host(p.frontend),
			primitives.MatchingService: host(p.matching),
			primitives.HistoryService:  host(p.history),
			primitives.WorkerService:   host(p.worker),
		}),
		temporal.WithLogger(slogLogger{log: logger}),
		temporal.WithAuthorizer(authorization.NewNoopAuthorizer()),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper {
			return authorization.NewNoopClaimMapper()
		}),
		temporal.WithDynamicConfigClient(dynConf),
	}
}

func serverConfig(ip string, p ports, sqlConf *config.SQL, tlsOpts *TLS) *config.Config {
	frontendAddress := net.JoinHostPort(dialableIP(ip), strconv.Itoa(p.frontend))
	service := func(grpcPort, httpPort int) config.Service {
		var s config.Service
		s.RPC.GRPCPort = grpcPort
		s.RPC.HTTPPort = httpPort
		s.RPC.BindOnIP = ip
		return s
	}

	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = dialableIP(ip)
	conf.Persistence.DefaultStore = "sqlite-default"
	conf.Persistence.VisibilityStore = "sqlite-default"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite-default": {SQL: sqlConf}}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontendAddress,
				HTTPAddress:            net.JoinHostPort(dialableIP(ip), strconv.Itoa(p.frontendHTTP)),
				// Only used when the database is new; an existing one keeps its ID.
				ClusterID: uuid.NewString(),
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{
		"frontend": service(p.frontend, p.frontendHTTP),
		"history":  service(p.history, 0),
		"matching": service(p.matching, 0),
		"worker":   service(p.worker, 0),
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontendAddress
	if tlsOpts != nil {
		client := config.ClientTLS{ServerName: tlsOpts.ServerName, RootCAFiles: []string{tlsOpts.CAFile}}
		conf.Global.TLS.Frontend.Server = config.ServerTLS{
			CertFile:          tlsOpts.CertFile,
			KeyFile:           tlsOpts.KeyFile,
			ClientCAFiles:     []string{tlsOpts.CAFile},
			RequireClientAuth: tlsOpts.RequireClientAuth,
		}
		conf.Global.TLS.Frontend.Client = client
		conf.Global.TLS.SystemWorker = config.WorkerTLS{
			CertFile: tlsOpts.ClientCertFile,
			KeyFile:  tlsOpts.ClientKeyFile,
			Client:   client,
		}
	}
	return &conf
}
