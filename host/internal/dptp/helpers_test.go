package dptp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

const (
	aliceID = "dpc-node-0123456789abcdef0123456789abcdef"
	bobID   = "dpc-node-fedcba9876543210fedcba9876543210"
	fileSum = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	chanID  = "c0ffee0000000000000000000000000000000000000000000000000000000001"
	opID1   = "0a00000000000000000000000000000000000000000000000000000000000000"
	opID2   = "0b00000000000000000000000000000000000000000000000000000000000000"
)

var sentAt = NewTimestamp(time.Date(2026, 3, 1, 9, 30, 0, 250_000_000, time.UTC))

// samplePayloads holds one valid, fully populated value of every payload type.
func samplePayloads() map[string]Payload {
	return map[string]Payload{
		CmdHello: Hello{NodeID: aliceID, Name: "Alice ✓", Protocol: Protocol,
			Capabilities: []string{"files", "history", "channels/v1"}, Software: "dpc-go/0.1.0"},
		CmdSendText:           SendText{MessageID: "01HZX3-msg_1", Text: "hi <b>Bob</b> & ünïcode 👋\n", SentAt: sentAt, ReplyTo: "prev-1"},
		CmdAck:                Ack{MessageID: "01HZX3-msg_1", Status: AckDenied, Reason: "not a contact"},
		CmdRequestChatHistory: RequestChatHistory{RequestID: "req-1", Since: sentAt, Limit: 50},
		CmdChatHistoryResponse: ChatHistoryResponse{RequestID: "req-1", More: true, Messages: []ChatMessage{
			{MessageID: "m1", From: aliceID, To: bobID, Text: "one", SentAt: sentAt},
			{MessageID: "m2", From: bobID, To: aliceID, Text: "two", SentAt: NewTimestamp(sentAt.Add(time.Second)), ReplyTo: "m1"},
		}},
		CmdFileOffer: FileOffer{TransferID: "tr-1", Filename: "holiday photo.jpg", SizeBytes: 3 << 20,
			SHA256: fileSum, MIMEType: "image/jpeg", ChunkSize: 64 << 10},
		CmdFileAccept:   FileAccept{TransferID: "tr-1", Offset: 128 << 10},
		CmdFileChunk:    FileChunk{TransferID: "tr-1", Offset: 128 << 10, Data: []byte{0, 1, 2, 0xff, 'x'}},
		CmdFileComplete: FileComplete{TransferID: "tr-1", SHA256: fileSum},
		CmdFileCancel:   FileCancel{TransferID: "tr-1", Reason: CancelHashMismatch, Message: "got a different hash"},
		CmdError:        ErrorReply{RequestID: "req-1", RefusedCommand: CmdRequestChatHistory, Code: CodePermissionDenied, Message: "history is not shared with you"},
		CmdBye:          Bye{Reason: "shutting down"},

		CmdRequestContext: RequestContext{RequestID: "req-2", Query: "what does Carol cook?", KnownHash: fileSum},
		CmdContextResponse: ContextResponse{RequestID: "req-2", ContextHash: fileSum, Query: "what does Carol cook?",
			Context: map[string]any{"profile": map[string]any{"name": "Carol"}, "knowledge": map[string]any{
				"cooking": map[string]any{"summary": "pasta", "entries": []any{map[string]any{"content": "salt the water", "tags": []any{"pasta"}}}}}}},
		CmdContextUpdated:    ContextUpdated{NodeID: aliceID, ContextHash: fileSum, Timestamp: sentAt},
		CmdGetProviders:      GetProviders{RequestID: "req-3"},
		CmdProvidersResponse: ProvidersResponse{RequestID: "req-3", Providers: []Provider{{Alias: "llm-local", Model: "retrieval", Type: "llm-local"}}},
		CmdRemoteInferenceRequest: RemoteInferenceRequest{RequestID: "req-4", Model: "retrieval", Stream: true,
			Messages: []PromptMessage{{Role: "system", Content: "context"}, {Role: "user", Content: "what does Carol cook?"}}},
		CmdRemoteInferenceChunk:    RemoteInferenceChunk{RequestID: "req-4", Seq: 3, Text: "pasta "},
		CmdRemoteInferenceResponse: RemoteInferenceResponse{RequestID: "req-4", Status: StatusSuccess, Response: "pasta", Model: "retrieval", Provider: "llm-local", PromptTokens: 12, ResponseTokens: 1, TokensUsed: 13},

		CmdPing: Ping{RequestID: "req-5"},
		CmdPong: Pong{RequestID: "req-5"},

		CmdChannelOps:          ChannelOps{RequestID: "req-6", ChannelID: chanID, Ops: [][]byte{{1, 2, 3}, {0xff}}, More: true},
		CmdChannelSync:         ChannelSync{RequestID: "req-7", ChannelID: chanID, Heads: []string{opID1, opID2}, Count: 42, Page: 1},
		CmdChannelSyncResponse: ChannelSyncResponse{RequestID: "req-7", Heads: []string{opID2}, Count: 40, Want: []string{opID1}, Have: []string{opID1, opID2}, Page: 1, Pages: 2},
		CmdChannelWant:         ChannelWant{RequestID: "req-6", ChannelID: chanID, IDs: []string{opID1}, Heads: []string{opID2}, Have: []string{opID1}},

		CmdIntroduce:    Introduce{RequestID: "req-8", Introduction: []byte{1, 2, 3}, SubjectCertificate: []byte{0x30, 0x82}},
		CmdIntroduceAck: IntroduceAck{RequestID: "req-8"},
	}
}

// frameBytes builds a raw frame from a body, with a correct header.
func frameBytes(body string) []byte {
	return []byte(fmt.Sprintf("%010d%s", len(body), body))
}

// mustEncode encodes a frame or fails the test.
func mustEncode(t testing.TB, cmd string, payload any) []byte {
	t.Helper()
	b, err := Encode(cmd, payload)
	if err != nil {
		t.Fatalf("Encode(%s): want no error, got %v", cmd, err)
	}
	return b
}

// compact returns the compact form of a JSON text, or the text itself if invalid.
func compact(b []byte) string {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return string(b)
	}
	return out.String()
}

// errContains reports whether err's message contains every part.
func errContains(err error, parts ...string) bool {
	if err == nil {
		return false
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			return false
		}
	}
	return true
}

// validationCase is a payload and the field its Validate must name ("":
// valid).
type validationCase struct {
	p         Payload
	wantField string
}

// runValidation runs a table of Validate cases: a valid payload passes, an
// invalid one fails with a *FieldError naming its command and field.
func runValidation(t *testing.T, tests map[string]validationCase) {
	t.Helper()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := tc.p.Validate()
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidPayload) {
				t.Fatalf("want a *FieldError for %s, got %v", tc.wantField, err)
			}
			if fe.Field != tc.wantField || fe.Command != tc.p.Command() {
				t.Errorf("want %s.%s got %s.%s (%v)", tc.p.Command(), tc.wantField, fe.Command, fe.Field, err)
			}
		})
	}
}
