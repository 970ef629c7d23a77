package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// listenProblem says why s is not a usable host:port for node.listen, or
// returns "". An empty host means all interfaces, as in net.Listen.
func listenProblem(s string) string {
	if err := dpcuri.CheckListenAddress(s); err != nil {
		return err.Error()
	}
	return ""
}

// apiListenProblem says why s is not a loopback IP:port, or returns "".
// The local API carries an access token, so it never listens beyond this
// machine; host names are refused because they may resolve elsewhere.
func apiListenProblem(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Sprintf(`%q is not an IP:port address; want a loopback address such as "127.0.0.1:9999"`, s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Sprintf("%q has an invalid port %q; want a number from 0 to 65535", s, port)
	}
	if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
		return fmt.Sprintf(`%q is not a loopback address; the API must listen on 127.0.0.0/8 or [::1], for example "127.0.0.1:9999"`, s)
	}
	return ""
}
