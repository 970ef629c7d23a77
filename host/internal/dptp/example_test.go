package dptp_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/dpc-go/dpc/host/internal/dptp"
)

func ExampleEncode() {
	frame, err := dptp.Encode(dptp.CmdBye, dptp.Bye{Reason: "shutting down"})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\n", frame)
	// Output: 0000000054{"command":"BYE","payload":{"reason":"shutting down"}}
}

func ExampleReader() {
	var conn bytes.Buffer // stands in for the TLS connection
	w := dptp.NewWriter(&conn)
	_ = w.Send(dptp.Ack{MessageID: "m-1", Status: dptp.AckStored})
	_ = w.Write("GROUP_TEXT", nil)

	r := dptp.NewReader(&conn, dptp.DefaultMaxFrameSize)
	for {
		f, err := r.Read()
		if err != nil {
			break // io.EOF here; a real session logs anything else and closes
		}
		p, err := dptp.DecodePayload(f)
		switch {
		case errors.Is(err, dptp.ErrUnknownCommand):
			fmt.Println("answer ERROR", dptp.CodeUnknownCommand, "for", f.Command)
		case err != nil:
			fmt.Println("answer ERROR", dptp.CodeBadRequest, err)
		default:
			if ack, ok := p.(dptp.Ack); ok {
				fmt.Println("acked", ack.MessageID, ack.Status)
			}
		}
	}
	// Output:
	// acked m-1 stored
	// answer ERROR unknown_command for GROUP_TEXT
}
