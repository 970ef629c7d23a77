package cli

import "github.com/dpc-go/dpc/host/internal/api"

// client connects to the running node of the data directory.
func (g *globals) client() (*api.Client, error) {
	d, cfg, err := g.load(nil, nil)
	if err != nil {
		return nil, err
	}
	return api.Dial(d.APIToken(), d.APIAddress(), cfg.API.Listen)
}
