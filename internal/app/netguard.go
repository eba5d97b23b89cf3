package app

import (
	"github.com/scanforge/scanforge/internal/config"
	"github.com/scanforge/scanforge/internal/netguard"
)

// egressGuard is the configured SSRF guard of webhook deliveries: the worker
// dials through it, the API checks endpoint URLs with it when they are saved.
func (a *App) egressGuard() *netguard.Guard {
	return netguard.New(netguard.Options{
		AllowPrivate: a.Config.AllowPrivateNetworks,
		Allow:        a.Config.AllowNetworks,
	})
}

// logEgressPolicy says at start where deliveries may go, loudly when
// private networks are open outside dev mode.
func (a *App) logEgressPolicy() {
	allow := make([]string, len(a.Config.AllowNetworks))
	for i, p := range a.Config.AllowNetworks {
		allow[i] = p.String()
	}
	attrs := []any{"allow_private_networks", a.Config.AllowPrivateNetworks, "allow_networks", allow}
	switch {
	case a.Config.AllowPrivateNetworks && a.Config.Mode != config.ModeDev:
		a.Logger.Warn("deliveries may reach loopback and private networks (SCANFORGE_ALLOW_PRIVATE_NETWORKS)", attrs...)
	case a.Config.AllowPrivateNetworks:
		a.Logger.Info("dev mode: deliveries may reach loopback and private networks", attrs...)
	default:
		a.Logger.Info("deliveries to internal networks are blocked", attrs...)
	}
}
