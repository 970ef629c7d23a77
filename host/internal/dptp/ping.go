package dptp

// PING and PONG: a liveness probe whose round trip `dpc peers --rtt`
// shows.

// Commands of the liveness probe.
const (
	// CmdPing asks the peer to answer at once. Payload: Ping.
	CmdPing = "PING"
	// CmdPong answers PING. Payload: Pong.
	CmdPong = "PONG"
)

// Ping is the PING payload.
type Ping struct {
	RequestID string `json:"request_id"`
}

// Command returns CmdPing.
func (Ping) Command() string { return CmdPing }

// Validate checks the PING fields.
func (p Ping) Validate() error { return checkID(CmdPing, "request_id", p.RequestID) }

// Pong is the PONG payload: the PING's request_id.
type Pong struct {
	RequestID string `json:"request_id"`
}

// Command returns CmdPong.
func (Pong) Command() string { return CmdPong }

// Validate checks the PONG fields.
func (p Pong) Validate() error { return checkID(CmdPong, "request_id", p.RequestID) }

// Interface guards.
var (
	_ Payload = Ping{}
	_ Payload = Pong{}
)
