package cli

import "github.com/dpc-go/dpc/host/internal/api"

// client connects to the running node of the data directory, over its API
// socket only.
func (g *globals) client() (*api.Client, error) {
	d, _, err := g.load(nil, nil)
	if err != nil {
		return nil, err
	}
	return api.Dial(d.APISocket(), d.APIToken())
}
