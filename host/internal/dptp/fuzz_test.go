package dptp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
)

// fuzzMaxFrames are the reader limits FuzzReader picks from.
var fuzzMaxFrames = []int{16, 1024, DefaultMaxFrameSize}

// FuzzReader feeds an arbitrary byte stream to Reader.Read until it fails.
// It must never panic, must stop, must return only well-formed frames and
// the documented errors, and must allocate in proportion to the bytes that
// arrived, never to the length a header announces.
func FuzzReader(f *testing.F) {
	var all []byte
	for cmd, p := range samplePayloads() {
		raw := mustEncode(f, cmd, p)
		f.Add(uint8(2), raw)
		f.Add(uint8(1), raw[:len(raw)/2])
		all = append(all, raw...)
	}
	f.Add(uint8(2), all)
	f.Add(uint8(0), frameBytes(`{"command":"X"}`))
	f.Add(uint8(2), []byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add(uint8(2), []byte("4194304   "))
	f.Add(uint8(2), []byte("0004194304{\"command\":\"X\",\"payload\":{\"a\":\""))
	f.Add(uint8(2), []byte("9999999999"))
	f.Add(uint8(2), frameBytes(`{"command":"X","command":"Y"}`))
	f.Add(uint8(2), frameBytes(`{"command":"HELLO_ACK","status":"OK","name":null}`))
	f.Add(uint8(2), append(frameBytes(`[1]`), frameBytes(`{"command":"BYE","payload":null}`)...))

	f.Fuzz(func(t *testing.T, maxSel uint8, data []byte) {
		max := fuzzMaxFrames[int(maxSel)%len(fuzzMaxFrames)]
		r := NewReader(bytes.NewReader(data), max)
		frames := make([]Frame, 0, 8)
		var errs []error

		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for calls := 0; ; calls++ {
			if calls > len(data)/HeaderSize+1 {
				t.Fatalf("Read did not stop: %d calls for %d bytes", calls, len(data))
			}
			fr, err := r.Read()
			if err == nil {
				frames = append(frames, fr)
				continue
			}
			errs = append(errs, err)
			if !errors.Is(err, ErrBadFrame) {
				break
			}
		}
		runtime.ReadMemStats(&after)
		if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(2*initialBodyBuffer+64*len(data)); got > limit {
			t.Fatalf("allocated %d bytes reading %d input bytes (max frame %d), want at most %d", got, len(data), max, limit)
		}

		last := errs[len(errs)-1]
		switch {
		case last == io.EOF, errors.Is(last, io.ErrUnexpectedEOF), errors.Is(last, ErrBadHeader), errors.Is(last, ErrFrameTooLarge):
		default:
			t.Fatalf("final error: want io.EOF, io.ErrUnexpectedEOF, ErrBadHeader or ErrFrameTooLarge, got %v", last)
		}
		if _, again := r.Read(); again != last {
			t.Fatalf("sticky error: want %v got %v", last, again)
		}

		for _, fr := range frames {
			if !validCommand(fr.Command) {
				t.Fatalf("frame with invalid command %q", fr.Command)
			}
			if fr.Payload != nil && (!json.Valid(fr.Payload) || !isObject(fr.Payload)) {
				t.Fatalf("%s: payload is not a JSON object: %q", fr.Command, fr.Payload)
			}
			// Re-encoding a frame and reading it back gives the same frame.
			raw, err := Encode(fr.Command, fr.Payload)
			if err != nil {
				t.Fatalf("%s: re-encode: %v", fr.Command, err)
			}
			back, err := NewReader(bytes.NewReader(raw), 0).Read()
			if err != nil {
				t.Fatalf("%s: read re-encoded frame %q: %v", fr.Command, raw, err)
			}
			if back.Command != fr.Command || compact(back.Payload) != compact(fr.Payload) {
				t.Fatalf("re-encoded frame differs: want %s %s got %s %s", fr.Command, fr.Payload, back.Command, back.Payload)
			}
			// Decoding never panics, whatever the command.
			_, _ = DecodePayload(fr)
		}
	})
}

// fuzzDecode is the body of the per-payload fuzz targets: data is the
// payload JSON of a T frame. Decoding must not panic; whatever decodes must
// be valid, must encode, and must re-decode to the same canonical encoding.
func fuzzDecode[T Payload](f *testing.F, extraSeeds ...string) {
	var zero T
	cmd := zero.Command()
	for _, s := range extraSeeds {
		f.Add([]byte(s))
	}
	if p, ok := samplePayloads()[cmd]; ok {
		b, err := json.Marshal(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(append(b[:len(b)-1:len(b)-1], []byte(`,"x":[1,{"y":null}]}`)...))
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))

	f.Fuzz(func(t *testing.T, data []byte) {
		direct, derr := Decode[T](Frame{Command: cmd, Payload: data})
		if derr != nil && !errors.Is(derr, ErrInvalidPayload) {
			t.Fatalf("Decode error: want ErrInvalidPayload, got %v", derr)
		}

		// The same payload inside a real frame, through the Reader.
		body := fmt.Sprintf(`{"command":%q,"payload":%s}`, cmd, data)
		if fr, err := NewReader(bytes.NewReader(frameBytes(body)), 0).Read(); err == nil {
			viaReader, rerr := Decode[T](fr)
			if (rerr == nil) != (derr == nil) {
				t.Fatalf("Decode via Reader and direct disagree: %v vs %v", rerr, derr)
			}
			if rerr == nil {
				a, _ := json.Marshal(viaReader)
				b, _ := json.Marshal(direct)
				if !bytes.Equal(a, b) {
					t.Fatalf("Decode via Reader and direct disagree:\n%s\n%s", a, b)
				}
			}
		}
		if derr != nil {
			return
		}

		if err := direct.Validate(); err != nil {
			t.Fatalf("decoded value does not validate: %v", err)
		}
		first, err := Encode(cmd, direct)
		if err != nil {
			t.Fatalf("decoded value does not encode: %v", err)
		}
		fr, err := NewReader(bytes.NewReader(first), 0).Read()
		if err != nil {
			t.Fatalf("re-encoded frame does not read: %v", err)
		}
		again, err := Decode[T](fr)
		if err != nil {
			t.Fatalf("re-encoded frame does not decode: %v\n%s", err, first)
		}
		second, err := Encode(cmd, again)
		if err != nil {
			t.Fatalf("second encoding: %v", err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("encoding is not stable:\n%s\n%s", first, second)
		}
	})
}

func FuzzDecodeHello(f *testing.F) {
	fuzzDecode[Hello](f,
		`{"node_id":"`+aliceID+`","name":null,"cert_pem":"x","nonce_signature":"AA=="}`,
		`{"node_id":"`+aliceID+`","protocol":"dptp/1","capabilities":["a","A"],"Name":"x"}`)
}

func FuzzDecodeSendText(f *testing.F) {
	fuzzDecode[SendText](f,
		`{"message_id":"m","text":"\ud800 \u00e9","sent_at":"2026-03-01T11:30:00.123456+02:00"}`,
		`{"message_id":"m","text":"x","text":"y","sent_at":"2026-03-01T09:30:00Z"}`)
}

func FuzzDecodeAck(f *testing.F) {
	fuzzDecode[Ack](f, `{"message_id":"m","status":"held"}`, `{"message_id":"m","status":"denied","reason":""}`)
}

func FuzzDecodeRequestChatHistory(f *testing.F) {
	fuzzDecode[RequestChatHistory](f, `{"request_id":"r","limit":0}`, `{"request_id":"r","since":null,"limit":1e3}`, `{"request_id":"r","cursor":"AAAAAAAAAAA-_x"}`)
}

func FuzzDecodeChatHistoryResponse(f *testing.F) {
	fuzzDecode[ChatHistoryResponse](f,
		`{"request_id":"r","messages":null,"more":true}`,
		`{"request_id":"r","messages":[],"more":true,"cursor":"AAAAAAAAAAA"}`,
		`{"request_id":"r","messages":[{"message_id":"m","from":"`+aliceID+`","to":"`+bobID+`","text":"t","sent_at":"2026-03-01T09:30:00Z","FROM":1}]}`)
}

func FuzzDecodeFileOffer(f *testing.F) {
	fuzzDecode[FileOffer](f,
		`{"transfer_id":"t","filename":"..","size_bytes":0,"sha256":"`+fileSum+`","mime_type":"a/b","chunk_size":1024}`)
}

func FuzzDecodeFileAccept(f *testing.F) {
	fuzzDecode[FileAccept](f, `{"transfer_id":"t","offset":0}`, `{"transfer_id":"t","offset":-1}`)
}

func FuzzDecodeFileChunk(f *testing.F) {
	fuzzDecode[FileChunk](f, `{"transfer_id":"t","offset":0,"data":"AAE="}`, `{"transfer_id":"t","offset":0,"data":"AAE"}`)
}

func FuzzDecodeFileComplete(f *testing.F) {
	fuzzDecode[FileComplete](f, `{"transfer_id":"t","sha256":"none"}`)
}

func FuzzDecodeFileCancel(f *testing.F) {
	fuzzDecode[FileCancel](f, `{"transfer_id":"t","reason":"timeout"}`)
}

func FuzzDecodeError(f *testing.F) {
	fuzzDecode[ErrorReply](f, `{"code":"unknown_command","command":"GET_PROVIDERS","message":"no"}`)
}

func FuzzDecodeBye(f *testing.F) {
	fuzzDecode[Bye](f, `{"reason":"x"}`, `{"reason":7}`)
}

func FuzzDecodeRequestContext(f *testing.F) {
	fuzzDecode[RequestContext](f, `{"request_id":"r","query":"q","requestor_id":"`+aliceID+`"}`, `{"request_id":"r","known_hash":"x"}`)
}

func FuzzDecodeContextResponse(f *testing.F) {
	fuzzDecode[ContextResponse](f, `{"request_id":"r","context":{"a":{"b":[1,2.5e3,null,"x"]}},"query":"q"}`,
		`{"request_id":"r","unchanged":true,"context_hash":"`+fileSum+`"}`, `{"request_id":"r","context":[]}`)
}

func FuzzDecodeContextUpdated(f *testing.F) {
	fuzzDecode[ContextUpdated](f, `{"node_id":"`+aliceID+`","context_hash":"`+fileSum+`","timestamp":"2026-03-01T09:30:00Z"}`)
}

func FuzzDecodeGetProviders(f *testing.F) {
	fuzzDecode[GetProviders](f, `{"request_id":"r"}`)
}

func FuzzDecodeProvidersResponse(f *testing.F) {
	fuzzDecode[ProvidersResponse](f, `{"providers":[{"alias":"a","model":"m","type":"ollama","supports_vision":false,"supports_voice":false,"context_window":null}]}`,
		`{"providers":[{"alias":"a","model":"m","context_window":-1}]}`)
}

func FuzzDecodeRemoteInferenceRequest(f *testing.F) {
	fuzzDecode[RemoteInferenceRequest](f, `{"request_id":"r","prompt":"hello","model":"llama3","provider":"ollama"}`,
		`{"request_id":"r","messages":[{"role":"tool","content":"x"}]}`)
}

func FuzzDecodeRemoteInferenceChunk(f *testing.F) {
	fuzzDecode[RemoteInferenceChunk](f, `{"request_id":"r","seq":0,"text":""}`)
}

func FuzzDecodeRemoteInferenceResponse(f *testing.F) {
	fuzzDecode[RemoteInferenceResponse](f, `{"request_id":"r","status":"error","error":"no such model"}`,
		`{"request_id":"r","status":"success","response":"hi","tokens_used":3,"thinking":"x"}`)
}

func FuzzDecodePing(f *testing.F) {
	fuzzDecode[Ping](f, `{"request_id":"r"}`, `{"request_id":""}`, `{"request_id":"r","Request_ID":"s"}`)
}

func FuzzDecodePong(f *testing.F) {
	fuzzDecode[Pong](f, `{"request_id":"r"}`, `{"request_id":7}`)
}

func FuzzDecodeIntroduce(f *testing.F) {
	fuzzDecode[Introduce](f, `{"request_id":"r","introduction":"AQID","subject_certificate":"MII="}`,
		`{"request_id":"r","introduction":"","subject_certificate":"MII="}`, `{"request_id":"r","introduction":"@@","subject_certificate":null}`)
}

func FuzzDecodeIntroduceAck(f *testing.F) {
	fuzzDecode[IntroduceAck](f, `{"request_id":"r"}`, `{"request_id":""}`)
}

func FuzzDecodeChannelOps(f *testing.F) {
	fuzzDecode[ChannelOps](f, `{"channel_id":"`+chanID+`","ops":["AAE=","/w=="]}`,
		`{"request_id":"r","channel_id":"`+chanID+`","ops":[],"more":true}`, `{"channel_id":"`+chanID+`","ops":[""]}`)
}

func FuzzDecodeChannelSync(f *testing.F) {
	fuzzDecode[ChannelSync](f, `{"request_id":"r","channel_id":"`+chanID+`","heads":["`+opID1+`","`+opID2+`"],"count":2}`,
		`{"request_id":"r","channel_id":"`+chanID+`","heads":["`+opID2+`","`+opID1+`"],"count":-1,"page":1}`)
}

func FuzzDecodeChannelSyncResponse(f *testing.F) {
	fuzzDecode[ChannelSyncResponse](f, `{"request_id":"r","heads":null,"count":0,"want":["`+opID1+`"],"pages":1}`,
		`{"request_id":"r","heads":["`+opID1+`","`+opID1+`"],"want":[],"pages":0}`)
}

func FuzzDecodeChannelWant(f *testing.F) {
	fuzzDecode[ChannelWant](f, `{"request_id":"r","channel_id":"`+chanID+`","ids":["`+opID1+`"],"heads":[]}`,
		`{"request_id":"r","channel_id":"`+chanID+`","ids":[],"heads":["x"]}`)
}
