package dptp

import (
	"bytes"
	"encoding/json"
	"github.com/dpc-go/dpc/sdk/dpcuri"
	"mime"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dpc-go/dpc/host/internal/textsafe"
)

// Field limits. Lengths are in bytes of UTF-8 unless they say otherwise.
const (
	// MaxIDLen is the longest message_id, request_id or transfer_id: 1..64 of [A-Za-z0-9_-].
	MaxIDLen = 64
	// MaxNameLen is the longest display name in HELLO.
	MaxNameLen = 128
	// MaxSoftwareLen is the longest HELLO.software string.
	MaxSoftwareLen = 128
	// MaxCapabilities is the most capabilities a HELLO may list.
	MaxCapabilities = 64
	// MaxCapabilityLen is the longest capability name: 1..64 of [A-Za-z0-9_.:/-].
	MaxCapabilityLen = 64
	// MaxTextLen is the longest text message (64 KiB).
	MaxTextLen = 64 << 10
	// MaxCodeLen is the longest error, cancel or reason code: 1..64 of [a-z0-9_].
	MaxCodeLen = 64
	// MaxReasonLen is the longest free-text reason or message (ACK, ERROR, FILE_CANCEL, BYE).
	MaxReasonLen = 1024
	// MaxFilenameLen is the longest file name in FILE_OFFER.
	MaxFilenameLen = 255
	// MaxMIMETypeLen is the longest FILE_OFFER.mime_type.
	MaxMIMETypeLen = 255
	// MinChunkSize and MaxChunkSize bound FILE_OFFER.chunk_size and the data in a FILE_CHUNK.
	MinChunkSize = 1 << 10
	// MaxChunkSize is the largest chunk (1 MiB); its base64 form fits a frame easily.
	MaxChunkSize = 1 << 20
	// DefaultHistoryLimit is what REQUEST_CHAT_HISTORY.limit = 0 means.
	DefaultHistoryLimit = 200
	// MaxHistoryLimit is the largest REQUEST_CHAT_HISTORY.limit and the most
	// messages one CHAT_HISTORY_RESPONSE may carry.
	MaxHistoryLimit = 1000
	// MaxCursorLen is the longest history cursor: 1..128 of [A-Za-z0-9_-].
	MaxCursorLen = 128
)

// ACK statuses.
const (
	// AckStored: the message is durably stored and will be shown.
	AckStored = "stored"
	// AckHeld: stored, but waiting for the user to accept a contact request.
	AckHeld = "held"
	// AckDenied: the firewall refused the message; Reason says why. Do not retry.
	AckDenied = "denied"
)

// FILE_CANCEL reasons. Other codes of the form [a-z0-9_]{1,64} are accepted
// from newer peers.
const (
	CancelUserCancelled     = "user_cancelled"
	CancelFirewallDenied    = "firewall_denied"
	CancelHashMismatch      = "hash_mismatch"
	CancelSizeLimitExceeded = "size_limit_exceeded"
	CancelTypeNotAllowed    = "type_not_allowed"
	// CancelInvalidName: the receiver refuses the file name (bidirectional
	// controls, a Windows device name, a trailing dot or space).
	CancelInvalidName = "invalid_name"
	CancelTimeout     = "timeout"
	CancelError       = "error"
)

// ERROR codes. Other codes of the form [a-z0-9_]{1,64} are accepted from
// newer peers.
const (
	CodePermissionDenied = "permission_denied"
	CodeNotFound         = "not_found"
	CodeBadRequest       = "bad_request"
	CodeRateLimited      = "rate_limited"
	CodeUnknownCommand   = "unknown_command"
	CodeInternal         = "internal_error"
)

// Hello is the HELLO payload, the first frame each side sends. NodeID must
// equal the node_id TLS has already proven; the session checks that.
type Hello struct {
	// NodeID is the sender's node_id, "dpc-node-" + 32 lower-case hex.
	NodeID string `json:"node_id"`
	// Name is the sender's display name (may be empty), at most MaxNameLen bytes, no control characters.
	Name string `json:"name"`
	// Protocol must be Protocol ("dptp/1").
	Protocol string `json:"protocol"`
	// Capabilities lists optional features the sender supports.
	Capabilities []string `json:"capabilities,omitempty"`
	// Software names the implementation, e.g. "dpc-go/0.1.0" (optional).
	Software string `json:"software,omitempty"`
	// EnvelopeKey is the sender's X25519 envelope public key (32 bytes,
	// base64 in JSON) and EnvelopeBinding the node key's signature binding
	// it to the node_id (identity's envelope binding): what others seal
	// channel keys and envelopes to. Optional, both or neither; the
	// receiver verifies the binding against the session certificate.
	EnvelopeKey     []byte `json:"envelope_key,omitempty"`
	EnvelopeBinding []byte `json:"envelope_binding,omitempty"`
}

// Envelope key sizes in HELLO.
const (
	EnvelopeKeySize        = 32
	MaxEnvelopeBindingSize = 1024
)

// Command returns CmdHello.
func (Hello) Command() string { return CmdHello }

// Validate checks the HELLO fields.
func (p Hello) Validate() error {
	const c = CmdHello
	if !dpcuri.ValidNodeID(p.NodeID) {
		return fieldErr(c, "node_id", "want dpc-node- and 32 lower-case hex characters, got %s", quoteShort(p.NodeID))
	}
	if err := CheckName(p.Name); err != nil {
		return err
	}
	if p.Protocol != Protocol {
		return fieldErr(c, "protocol", "want %q, got %s", Protocol, quoteShort(p.Protocol))
	}
	if len(p.Capabilities) > MaxCapabilities {
		return fieldErr(c, "capabilities", "%d entries, at most %d allowed", len(p.Capabilities), MaxCapabilities)
	}
	for _, cp := range p.Capabilities {
		if !validToken(cp, MaxCapabilityLen, "_.:/-", true) {
			return fieldErr(c, "capabilities", "entry %s is not 1..%d of [A-Za-z0-9_.:/-]", quoteShort(cp), MaxCapabilityLen)
		}
	}
	switch {
	case (len(p.EnvelopeKey) == 0) != (len(p.EnvelopeBinding) == 0):
		return fieldErr(c, "envelope_key", "envelope_key and envelope_binding go together")
	case len(p.EnvelopeKey) != 0 && len(p.EnvelopeKey) != EnvelopeKeySize:
		return fieldErr(c, "envelope_key", "%d bytes, want %d (an X25519 public key)", len(p.EnvelopeKey), EnvelopeKeySize)
	case len(p.EnvelopeBinding) > MaxEnvelopeBindingSize:
		return fieldErr(c, "envelope_binding", "%d bytes, at most %d", len(p.EnvelopeBinding), MaxEnvelopeBindingSize)
	}
	return checkLabel(c, "software", p.Software, MaxSoftwareLen)
}

// SendText is the SEND_TEXT payload: one direct message, answered by ACK.
type SendText struct {
	// MessageID is chosen by the sender, unique per sender; receivers dedup on (sender, message_id).
	MessageID string `json:"message_id"`
	// Text is the message, 1..MaxTextLen bytes of UTF-8.
	Text string `json:"text"`
	// SentAt is when the user sent it (sender's clock).
	SentAt Timestamp `json:"sent_at"`
	// ReplyTo is the message_id this one answers (optional).
	ReplyTo string `json:"reply_to,omitempty"`
}

// Command returns CmdSendText.
func (SendText) Command() string { return CmdSendText }

// Validate checks the SEND_TEXT fields.
func (p SendText) Validate() error {
	const c = CmdSendText
	if err := checkID(c, "message_id", p.MessageID); err != nil {
		return err
	}
	if err := checkText(c, "text", p.Text); err != nil {
		return err
	}
	if p.SentAt.IsZero() {
		return fieldErr(c, "sent_at", "required")
	}
	return checkOptionalID(c, "reply_to", p.ReplyTo)
}

// Ack is the ACK payload: the receiver's answer to SEND_TEXT, sent only once
// the message is durably stored (or refused).
type Ack struct {
	// MessageID is the acknowledged SEND_TEXT.message_id.
	MessageID string `json:"message_id"`
	// Status is AckStored, AckHeld or AckDenied.
	Status string `json:"status"`
	// Reason explains a denial (required when Status is AckDenied).
	Reason string `json:"reason,omitempty"`
}

// Command returns CmdAck.
func (Ack) Command() string { return CmdAck }

// Validate checks the ACK fields.
func (p Ack) Validate() error {
	const c = CmdAck
	if err := checkID(c, "message_id", p.MessageID); err != nil {
		return err
	}
	switch p.Status {
	case AckStored, AckHeld:
	case AckDenied:
		if p.Reason == "" {
			return fieldErr(c, "reason", "required when status is %q", AckDenied)
		}
	default:
		return fieldErr(c, "status", "want %q, %q or %q, got %s", AckStored, AckHeld, AckDenied, quoteShort(p.Status))
	}
	return checkReason(c, "reason", p.Reason)
}

// RequestChatHistory is the REQUEST_CHAT_HISTORY payload: the requester asks
// for the messages of its conversation with the responder.
type RequestChatHistory struct {
	// RequestID is echoed in the response.
	RequestID string `json:"request_id"`
	// Since asks for messages with sent_at >= Since (optional; zero = from the beginning).
	Since Timestamp `json:"since,omitzero"`
	// Limit is the most messages to return, 1..MaxHistoryLimit; 0 means DefaultHistoryLimit.
	Limit int `json:"limit,omitempty"`
	// Cursor asks for the page after the one that returned it (optional;
	// it replaces Since). It is opaque to the requester.
	Cursor string `json:"cursor,omitempty"`
	// ConversationID is D-PC v1's name for the conversation (the peer's
	// node_id for a direct chat); it is echoed in the response.
	ConversationID string `json:"conversation_id,omitempty"`
}

// Command returns CmdRequestChatHistory.
func (RequestChatHistory) Command() string { return CmdRequestChatHistory }

// Validate checks the REQUEST_CHAT_HISTORY fields.
func (p RequestChatHistory) Validate() error {
	const c = CmdRequestChatHistory
	if err := checkID(c, "request_id", p.RequestID); err != nil {
		return err
	}
	if p.Limit < 0 || p.Limit > MaxHistoryLimit {
		return fieldErr(c, "limit", "want 1..%d (or 0 for %d), got %d", MaxHistoryLimit, DefaultHistoryLimit, p.Limit)
	}
	if err := checkCursor(c, "cursor", p.Cursor); err != nil {
		return err
	}
	return checkLabel(c, "conversation_id", p.ConversationID, MaxNameLen)
}

// EffectiveLimit returns Limit, or DefaultHistoryLimit when Limit is 0.
func (p RequestChatHistory) EffectiveLimit() int {
	if p.Limit == 0 {
		return DefaultHistoryLimit
	}
	return p.Limit
}

// ChatMessage is one message in a CHAT_HISTORY_RESPONSE.
type ChatMessage struct {
	// MessageID is the id the author gave the message.
	MessageID string `json:"message_id"`
	// From is the author's node_id.
	From string `json:"from"`
	// To is the recipient's node_id.
	To string `json:"to"`
	// Text is the message text.
	Text string `json:"text"`
	// SentAt is the author's send time.
	SentAt Timestamp `json:"sent_at"`
	// ReplyTo is the message_id this one answers (optional).
	ReplyTo string `json:"reply_to,omitempty"`
}

func (m ChatMessage) validate(c, path string) error {
	if err := checkID(c, path+".message_id", m.MessageID); err != nil {
		return err
	}
	if !dpcuri.ValidNodeID(m.From) {
		return fieldErr(c, path+".from", "want a node_id, got %s", quoteShort(m.From))
	}
	if !dpcuri.ValidNodeID(m.To) {
		return fieldErr(c, path+".to", "want a node_id, got %s", quoteShort(m.To))
	}
	if err := checkText(c, path+".text", m.Text); err != nil {
		return err
	}
	if m.SentAt.IsZero() {
		return fieldErr(c, path+".sent_at", "required")
	}
	return checkOptionalID(c, path+".reply_to", m.ReplyTo)
}

// ChatHistoryResponse is the CHAT_HISTORY_RESPONSE payload. Messages are in
// conversation order (sent_at, then message_id). The responder keeps the
// encoded frame within the maximum frame size and sets More when it left
// messages out (because of Limit or size); the requester then asks again
// with Cursor, or (from a peer that sends none) with Since = the last
// message's sent_at.
type ChatHistoryResponse struct {
	// RequestID echoes REQUEST_CHAT_HISTORY.request_id.
	RequestID string `json:"request_id"`
	// Messages holds at most MaxHistoryLimit messages; never encoded as null.
	Messages []ChatMessage `json:"messages"`
	// More is true when further messages exist after the last one returned.
	More bool `json:"more"`
	// Cursor is where the next page starts (optional): the requester sends
	// it back in its next REQUEST_CHAT_HISTORY.
	Cursor string `json:"cursor,omitempty"`
	// ConversationID and TotalCount are D-PC v1's fields, sent to v1 peers;
	// D-PC sends total_count even when it is 0, so a v1 peer gets it always.
	ConversationID string `json:"conversation_id,omitempty"`
	TotalCount     *int   `json:"total_count,omitempty"`
}

// Command returns CmdChatHistoryResponse.
func (ChatHistoryResponse) Command() string { return CmdChatHistoryResponse }

// Validate checks the CHAT_HISTORY_RESPONSE fields and every message.
func (p ChatHistoryResponse) Validate() error {
	const c = CmdChatHistoryResponse
	if err := checkID(c, "request_id", p.RequestID); err != nil {
		return err
	}
	if len(p.Messages) > MaxHistoryLimit {
		return fieldErr(c, "messages", "%d messages, at most %d allowed", len(p.Messages), MaxHistoryLimit)
	}
	if err := checkCursor(c, "cursor", p.Cursor); err != nil {
		return err
	}
	for i, m := range p.Messages {
		if err := m.validate(c, "messages["+strconv.Itoa(i)+"]"); err != nil {
			return err
		}
	}
	return nil
}

// TrimToFit returns p with as many leading messages as fit, once encoded,
// in a frame body of at most maxFrame bytes (DefaultMaxFrameSize when
// maxFrame <= 0, which is also the most Encode accepts). When it drops
// messages it sets More, so the requester asks again after the last
// message returned. It leaves room for a Cursor of any length, which the
// responder sets after trimming (it depends on the last message kept). A
// responder calls it before sending: MaxHistoryLimit messages of
// MaxTextLen each would not fit in one frame.
func (p ChatHistoryResponse) TrimToFit(maxFrame int) ChatHistoryResponse {
	if maxFrame <= 0 || maxFrame > DefaultMaxFrameSize {
		maxFrame = DefaultMaxFrameSize
	}
	empty := p
	empty.Messages, empty.More, empty.Cursor = nil, true, strings.Repeat("c", MaxCursorLen)
	head, err := json.Marshal(empty)
	if err != nil {
		return p
	}
	// {"command":"CHAT_HISTORY_RESPONSE","payload":<head>}, plus the messages.
	size := len(`{"command":"","payload":}`) + len(CmdChatHistoryResponse) + len(head)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i, m := range p.Messages {
		buf.Reset()
		if err := enc.Encode(m); err != nil {
			return p
		}
		size += buf.Len() // the Encoder's newline stands in for the separating comma
		if size > maxFrame {
			p.Messages, p.More = p.Messages[:i:i], true
			return p
		}
	}
	return p
}

// MarshalJSON writes an empty list rather than null for no messages.
func (p ChatHistoryResponse) MarshalJSON() ([]byte, error) {
	type plain ChatHistoryResponse
	if p.Messages == nil {
		p.Messages = []ChatMessage{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // like Encode: text stays as the user wrote it
	if err := enc.Encode(plain(p)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// FileOffer is the FILE_OFFER payload: the sender proposes a file.
type FileOffer struct {
	// TransferID is chosen by the sender and names the transfer in every later frame.
	TransferID string `json:"transfer_id"`
	// Filename is a base name only (no path), 1..MaxFilenameLen bytes.
	Filename string `json:"filename"`
	// SizeBytes is the exact file size.
	SizeBytes int64 `json:"size_bytes"`
	// SHA256 is the hex SHA-256 of the whole file, 64 lower-case hex characters.
	SHA256 string `json:"sha256"`
	// MIMEType is the media type, e.g. "image/png".
	MIMEType string `json:"mime_type"`
	// ChunkSize is the most data bytes per FILE_CHUNK, MinChunkSize..MaxChunkSize.
	ChunkSize int `json:"chunk_size"`
}

// Command returns CmdFileOffer.
func (FileOffer) Command() string { return CmdFileOffer }

// Validate checks the FILE_OFFER fields.
func (p FileOffer) Validate() error {
	const c = CmdFileOffer
	if err := checkID(c, "transfer_id", p.TransferID); err != nil {
		return err
	}
	if err := checkFilename(c, "filename", p.Filename); err != nil {
		return err
	}
	if p.SizeBytes < 0 {
		return fieldErr(c, "size_bytes", "must not be negative, got %d", p.SizeBytes)
	}
	if err := checkSHA256(c, "sha256", p.SHA256); err != nil {
		return err
	}
	if p.MIMEType == "" || len(p.MIMEType) > MaxMIMETypeLen {
		return fieldErr(c, "mime_type", "want 1..%d bytes, got %d", MaxMIMETypeLen, len(p.MIMEType))
	}
	if mt, _, err := mime.ParseMediaType(p.MIMEType); err != nil || !strings.Contains(mt, "/") {
		return fieldErr(c, "mime_type", "want a media type such as \"application/octet-stream\", got %s", quoteShort(p.MIMEType))
	}
	if p.ChunkSize < MinChunkSize || p.ChunkSize > MaxChunkSize {
		return fieldErr(c, "chunk_size", "want %d..%d, got %d", MinChunkSize, MaxChunkSize, p.ChunkSize)
	}
	return nil
}

// FileAccept is the FILE_ACCEPT payload: the receiver accepts an offer and
// asks for the data from Offset on (0, or the bytes it already holds when
// resuming).
type FileAccept struct {
	// TransferID is FILE_OFFER.transfer_id.
	TransferID string `json:"transfer_id"`
	// Offset is where the sender starts, 0..size_bytes.
	Offset int64 `json:"offset"`
}

// Command returns CmdFileAccept.
func (FileAccept) Command() string { return CmdFileAccept }

// Validate checks the FILE_ACCEPT fields.
func (p FileAccept) Validate() error {
	const c = CmdFileAccept
	if err := checkID(c, "transfer_id", p.TransferID); err != nil {
		return err
	}
	if p.Offset < 0 {
		return fieldErr(c, "offset", "must not be negative, got %d", p.Offset)
	}
	return nil
}

// FileChunk is the FILE_CHUNK payload: Data belongs at Offset of the file.
type FileChunk struct {
	// TransferID is FILE_OFFER.transfer_id.
	TransferID string `json:"transfer_id"`
	// Offset is the file position of Data[0].
	Offset int64 `json:"offset"`
	// Data is 1..chunk_size bytes (standard base64 in JSON), never more than MaxChunkSize.
	Data []byte `json:"data"`
}

// Command returns CmdFileChunk.
func (FileChunk) Command() string { return CmdFileChunk }

// Validate checks the FILE_CHUNK fields.
func (p FileChunk) Validate() error {
	const c = CmdFileChunk
	if err := checkID(c, "transfer_id", p.TransferID); err != nil {
		return err
	}
	if p.Offset < 0 {
		return fieldErr(c, "offset", "must not be negative, got %d", p.Offset)
	}
	if len(p.Data) == 0 || len(p.Data) > MaxChunkSize {
		return fieldErr(c, "data", "want 1..%d bytes, got %d", MaxChunkSize, len(p.Data))
	}
	return nil
}

// FileComplete is the FILE_COMPLETE payload, sent by the receiver after it
// has all bytes and has verified them against FILE_OFFER.sha256.
type FileComplete struct {
	// TransferID is FILE_OFFER.transfer_id.
	TransferID string `json:"transfer_id"`
	// SHA256 is the hash the receiver computed (equal to the offer's).
	SHA256 string `json:"sha256"`
}

// Command returns CmdFileComplete.
func (FileComplete) Command() string { return CmdFileComplete }

// Validate checks the FILE_COMPLETE fields.
func (p FileComplete) Validate() error {
	const c = CmdFileComplete
	if err := checkID(c, "transfer_id", p.TransferID); err != nil {
		return err
	}
	return checkSHA256(c, "sha256", p.SHA256)
}

// FileCancel is the FILE_CANCEL payload: either side aborts a transfer.
type FileCancel struct {
	// TransferID is FILE_OFFER.transfer_id.
	TransferID string `json:"transfer_id"`
	// Reason is a short code such as CancelUserCancelled.
	Reason string `json:"reason"`
	// Message is optional human-readable detail.
	Message string `json:"message,omitempty"`
}

// Command returns CmdFileCancel.
func (FileCancel) Command() string { return CmdFileCancel }

// Validate checks the FILE_CANCEL fields.
func (p FileCancel) Validate() error {
	const c = CmdFileCancel
	if err := checkID(c, "transfer_id", p.TransferID); err != nil {
		return err
	}
	if err := checkCode(c, "reason", p.Reason); err != nil {
		return err
	}
	return checkReason(c, "message", p.Message)
}

// ErrorReply is the ERROR payload: a refusal of, or failure to answer, a
// request.
type ErrorReply struct {
	// RequestID is the request_id of the request being answered (optional).
	RequestID string `json:"request_id,omitempty"`
	// RefusedCommand is the command being answered, e.g. for CodeUnknownCommand (optional).
	RefusedCommand string `json:"command,omitempty"`
	// Code is a short code such as CodePermissionDenied.
	Code string `json:"code"`
	// Message is human-readable detail.
	Message string `json:"message"`
}

// Command returns CmdError.
func (ErrorReply) Command() string { return CmdError }

// Validate checks the ERROR fields.
func (p ErrorReply) Validate() error {
	const c = CmdError
	if err := checkOptionalID(c, "request_id", p.RequestID); err != nil {
		return err
	}
	if p.RefusedCommand != "" && !validCommand(p.RefusedCommand) {
		return fieldErr(c, "command", "want [A-Z0-9_]{1,%d}, got %s", MaxCommandLen, quoteShort(p.RefusedCommand))
	}
	if err := checkCode(c, "code", p.Code); err != nil {
		return err
	}
	if p.Message == "" {
		return fieldErr(c, "message", "required")
	}
	return checkReason(c, "message", p.Message)
}

// Bye is the BYE payload: the sender is about to close the connection.
type Bye struct {
	// Reason is optional human-readable detail.
	Reason string `json:"reason,omitempty"`
}

// Command returns CmdBye.
func (Bye) Command() string { return CmdBye }

// Validate checks the BYE fields.
func (p Bye) Validate() error { return checkReason(CmdBye, "reason", p.Reason) }

// Interface guard.
var (
	_ Payload = Hello{}
	_ Payload = SendText{}
	_ Payload = Ack{}
	_ Payload = RequestChatHistory{}
	_ Payload = ChatHistoryResponse{}
	_ Payload = FileOffer{}
	_ Payload = FileAccept{}
	_ Payload = FileChunk{}
	_ Payload = FileComplete{}
	_ Payload = FileCancel{}
	_ Payload = ErrorReply{}
	_ Payload = Bye{}
)

// --- field checks ---

// ValidID reports whether s is a valid message_id, request_id or
// transfer_id: 1..MaxIDLen characters of [A-Za-z0-9_-].
func ValidID(s string) bool { return validToken(s, MaxIDLen, "_-", true) }

// validToken reports whether s is 1..max bytes of ASCII letters (upper case
// only if upper), digits and the extra characters.
func validToken(s string, max int, extra string, upper bool) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case upper && c >= 'A' && c <= 'Z':
		case strings.IndexByte(extra, c) >= 0:
		default:
			return false
		}
	}
	return true
}

func checkID(c, field, s string) error {
	if !ValidID(s) {
		if s == "" {
			return fieldErr(c, field, "required")
		}
		return fieldErr(c, field, "want 1..%d of [A-Za-z0-9_-], got %s", MaxIDLen, quoteShort(s))
	}
	return nil
}

func checkOptionalID(c, field, s string) error {
	if s == "" {
		return nil
	}
	return checkID(c, field, s)
}

// checkCursor checks an optional history cursor.
func checkCursor(c, field, s string) error {
	if s != "" && !validToken(s, MaxCursorLen, "_-", true) {
		return fieldErr(c, field, "want 1..%d of [A-Za-z0-9_-], got %s", MaxCursorLen, quoteShort(s))
	}
	return nil
}

func checkCode(c, field, s string) error {
	if !validToken(s, MaxCodeLen, "_", false) {
		if s == "" {
			return fieldErr(c, field, "required")
		}
		return fieldErr(c, field, "want a code of 1..%d of [a-z0-9_], got %s", MaxCodeLen, quoteShort(s))
	}
	return nil
}

func checkText(c, field, s string) error {
	switch {
	case s == "":
		return fieldErr(c, field, "required")
	case len(s) > MaxTextLen:
		return fieldErr(c, field, "%d bytes, at most %d allowed", len(s), MaxTextLen)
	case !utf8.ValidString(s):
		return fieldErr(c, field, "not valid UTF-8")
	}
	return nil
}

// checkReason: optional free text, valid UTF-8, at most MaxReasonLen bytes.
func checkReason(c, field, s string) error {
	switch {
	case len(s) > MaxReasonLen:
		return fieldErr(c, field, "%d bytes, at most %d allowed", len(s), MaxReasonLen)
	case !utf8.ValidString(s):
		return fieldErr(c, field, "not valid UTF-8")
	}
	return nil
}

// checkLabel: optional single-line text shown to users (names): valid UTF-8,
// no control characters, at most max bytes.
func checkLabel(c, field, s string, max int) error {
	if len(s) > max {
		return fieldErr(c, field, "%d bytes, at most %d allowed", len(s), max)
	}
	if !utf8.ValidString(s) {
		return fieldErr(c, field, "not valid UTF-8")
	}
	for _, r := range s {
		if textsafe.IsControl(r) {
			return fieldErr(c, field, "contains control character %U", r)
		}
	}
	return nil
}

// CheckName checks a display name a peer sent, in HELLO or in D-PC v1's
// handshake: at most MaxNameLen bytes of valid UTF-8 without control
// characters. Names failing it are refused, not cut, so that what a peer
// is called is what it sent.
func CheckName(name string) error { return checkLabel(CmdHello, "name", name, MaxNameLen) }

func checkFilename(c, field, s string) error {
	switch {
	case s == "":
		return fieldErr(c, field, "required")
	case len(s) > MaxFilenameLen:
		return fieldErr(c, field, "%d bytes, at most %d allowed", len(s), MaxFilenameLen)
	case !utf8.ValidString(s):
		return fieldErr(c, field, "not valid UTF-8")
	case s == "." || s == "..":
		return fieldErr(c, field, "%q is not a file name", s)
	case strings.ContainsAny(s, `/\`):
		return fieldErr(c, field, "must be a base name without / or \\, got %s", quoteShort(s))
	}
	for _, r := range s {
		if textsafe.IsControl(r) {
			return fieldErr(c, field, "contains control character %U", r)
		}
	}
	return nil
}

func checkSHA256(c, field, s string) error {
	if len(s) != 64 {
		return fieldErr(c, field, "want 64 lower-case hex characters, got %d characters", len(s))
	}
	for i := 0; i < len(s); i++ {
		if ch := s[i]; (ch < '0' || ch > '9') && (ch < 'a' || ch > 'f') {
			return fieldErr(c, field, "want 64 lower-case hex characters, got %s", quoteShort(s))
		}
	}
	return nil
}

// TruncateReason cuts s to at most MaxReasonLen bytes, on a rune boundary,
// so that an error text this node sends always fits its field.
func TruncateReason(s string) string {
	n := MaxReasonLen
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
