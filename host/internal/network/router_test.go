package network_test

import (
	"testing"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/nettest"
)

// TestEveryCommandAnswersAnInvalidPayloadAlike: whichever service handles
// a command, a payload whose ids are numbers is answered by the router with ERROR bad_request naming the command, and the session goes
// on. Before, each of handle()'s arms made that answer itself.
func TestEveryCommandAnswersAnInvalidPayloadAlike(t *testing.T) {
	t.Parallel()
	b := nettest.Loopback(t, "bob", nil)
	s, _ := nettest.RawSession(t, b)
	// Every command has one of these fields; none may be a number.
	invalid := map[string]any{"request_id": 7, "message_id": 7, "transfer_id": 7, "node_id": 7}
	for _, cmd := range []string{
		dptp.CmdSendText, dptp.CmdAck, dptp.CmdRequestChatHistory, dptp.CmdChatHistoryResponse,
		dptp.CmdFileOffer, dptp.CmdFileAccept, dptp.CmdFileChunk, dptp.CmdFileComplete, dptp.CmdFileCancel,
		dptp.CmdRequestContext, dptp.CmdContextResponse, dptp.CmdContextUpdated, dptp.CmdGetProviders,
		dptp.CmdProvidersResponse, dptp.CmdRemoteInferenceRequest, dptp.CmdRemoteInferenceChunk,
		dptp.CmdRemoteInferenceResponse, dptp.CmdPing, dptp.CmdPong,
	} {
		t.Run(cmd, func(t *testing.T) {
			if err := s.Send(cmd, invalid); err != nil {
				t.Fatal(err)
			}
			e, err := dptp.Decode[dptp.ErrorReply](nettest.Next(t, s, dptp.CmdError))
			if err != nil || e.Code != dptp.CodeBadRequest || e.RefusedCommand != cmd {
				t.Errorf("want ERROR bad_request for %s, got %+v (err %v)", cmd, e, err)
			}
		})
	}
	if err := s.Send(dptp.CmdPing, dptp.Ping{RequestID: "alive"}); err != nil {
		t.Fatal(err)
	}
	if p, err := dptp.Decode[dptp.Pong](nettest.Next(t, s, dptp.CmdPong)); err != nil || p.RequestID != "alive" {
		t.Errorf("after the invalid frames: want PONG alive, got %+v (err %v)", p, err)
	}
}
