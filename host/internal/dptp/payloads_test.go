package dptp

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestKnown(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		CmdHello: true, CmdSendText: true, CmdAck: true, CmdRequestChatHistory: true,
		CmdChatHistoryResponse: true, CmdFileOffer: true, CmdFileAccept: true, CmdFileChunk: true,
		CmdFileComplete: true, CmdFileCancel: true, CmdError: true, CmdBye: true,
		CmdGetProviders: true, "GROUP_TEXT": false, "HELLO_ACK": false, "hello": false, "": false,
	}
	for cmd, want := range tests {
		t.Run(cmd, func(t *testing.T) {
			t.Parallel()
			if got := Known(cmd); got != want {
				t.Errorf("Known(%q): want %v got %v", cmd, want, got)
			}
		})
	}
	for cmd, p := range samplePayloads() {
		if p.Command() != cmd {
			t.Errorf("%T.Command(): want %s got %s", p, cmd, p.Command())
		}
	}
	if got, want := len(samplePayloads()), len(decoders); got != want {
		t.Errorf("sample payloads: want one per known command (%d) got %d", want, got)
	}
}

func TestDecodePayloadUnknown(t *testing.T) {
	t.Parallel()
	_, err := DecodePayload(Frame{Command: "GROUP_TEXT"})
	if !errors.Is(err, ErrUnknownCommand) {
		t.Errorf("want ErrUnknownCommand got %v", err)
	}
}

func TestDecodeCommandMismatch(t *testing.T) {
	t.Parallel()
	_, err := Decode[Ack](Frame{Command: CmdBye})
	if !errors.Is(err, ErrCommandMismatch) {
		t.Errorf("want ErrCommandMismatch got %v", err)
	}
}

// TestValidate mutates a valid sample of each payload type and checks which
// field the error names ("" = valid).
func TestValidate(t *testing.T) {
	t.Parallel()
	s := samplePayloads()
	hello := s[CmdHello].(Hello)
	text := s[CmdSendText].(SendText)
	ack := s[CmdAck].(Ack)
	req := s[CmdRequestChatHistory].(RequestChatHistory)
	hist := s[CmdChatHistoryResponse].(ChatHistoryResponse)
	offer := s[CmdFileOffer].(FileOffer)
	accept := s[CmdFileAccept].(FileAccept)
	chunk := s[CmdFileChunk].(FileChunk)
	complete := s[CmdFileComplete].(FileComplete)
	cancel := s[CmdFileCancel].(FileCancel)
	errReply := s[CmdError].(ErrorReply)

	with := func(p Payload, f func(reflect.Value)) Payload {
		v := reflect.New(reflect.TypeOf(p)).Elem()
		v.Set(reflect.ValueOf(p))
		f(v)
		return v.Interface().(Payload)
	}
	set := func(p Payload, field string, val any) Payload {
		return with(p, func(v reflect.Value) { v.FieldByName(field).Set(reflect.ValueOf(val)) })
	}
	msgs := func(f func(*ChatMessage)) Payload {
		h := hist
		h.Messages = append([]ChatMessage(nil), hist.Messages...)
		f(&h.Messages[1])
		return h
	}
	tests := map[string]validationCase{
		"hello ok":                     {hello, ""},
		"hello empty name":             {set(hello, "Name", ""), ""},
		"hello no capabilities":        {set(hello, "Capabilities", []string(nil)), ""},
		"hello no software":            {set(hello, "Software", ""), ""},
		"hello upper-case node id":     {set(hello, "NodeID", strings.ToUpper(aliceID)), "node_id"},
		"hello short node id":          {set(hello, "NodeID", aliceID[:40]), "node_id"},
		"hello 16-hex legacy node id":  {set(hello, "NodeID", "dpc-node-0123456789abcdef"), "node_id"},
		"hello name 128 bytes":         {set(hello, "Name", strings.Repeat("é", 64)), ""},
		"hello name 129 bytes":         {set(hello, "Name", strings.Repeat("a", 129)), "name"},
		"hello name newline":           {set(hello, "Name", "Al\nice"), "name"},
		"hello name invalid UTF-8":     {set(hello, "Name", "\xff"), "name"},
		"hello other protocol":         {set(hello, "Protocol", "dptp/2"), "protocol"},
		"hello missing protocol":       {set(hello, "Protocol", ""), "protocol"},
		"hello bad capability":         {set(hello, "Capabilities", []string{"ok", "has space"}), "capabilities"},
		"hello empty capability":       {set(hello, "Capabilities", []string{""}), "capabilities"},
		"hello too many capabilities":  {set(hello, "Capabilities", make([]string, MaxCapabilities+1)), "capabilities"},
		"hello long software":          {set(hello, "Software", strings.Repeat("s", MaxSoftwareLen+1)), "software"},
		"text ok":                      {text, ""},
		"text no reply_to":             {set(text, "ReplyTo", ""), ""},
		"text 64-char id":              {set(text, "MessageID", strings.Repeat("a", 64)), ""},
		"text 65-char id":              {set(text, "MessageID", strings.Repeat("a", 65)), "message_id"},
		"text empty id":                {set(text, "MessageID", ""), "message_id"},
		"text id with dot":             {set(text, "MessageID", "a.b"), "message_id"},
		"text empty":                   {set(text, "Text", ""), "text"},
		"text 64 KiB":                  {set(text, "Text", strings.Repeat("x", MaxTextLen)), ""},
		"text 64 KiB + 1":              {set(text, "Text", strings.Repeat("x", MaxTextLen+1)), "text"},
		"text invalid UTF-8":           {set(text, "Text", "a\xc3"), "text"},
		"text no sent_at":              {set(text, "SentAt", Timestamp{}), "sent_at"},
		"text bad reply_to":            {set(text, "ReplyTo", "a/b"), "reply_to"},
		"ack ok":                       {ack, ""},
		"ack stored":                   {set(set(ack, "Status", AckStored), "Reason", ""), ""},
		"ack held":                     {set(set(ack, "Status", AckHeld), "Reason", ""), ""},
		"ack denied without reason":    {set(ack, "Reason", ""), "reason"},
		"ack unknown status":           {set(ack, "Status", "lost"), "status"},
		"ack long reason":              {set(ack, "Reason", strings.Repeat("r", MaxReasonLen+1)), "reason"},
		"ack bad id":                   {set(ack, "MessageID", "#"), "message_id"},
		"history request ok":           {req, ""},
		"history request limit 0":      {set(req, "Limit", 0), ""},
		"history request limit 1000":   {set(req, "Limit", 1000), ""},
		"history request limit 1001":   {set(req, "Limit", 1001), "limit"},
		"history request limit -1":     {set(req, "Limit", -1), "limit"},
		"history request no since":     {set(req, "Since", Timestamp{}), ""},
		"history request no id":        {set(req, "RequestID", ""), "request_id"},
		"history ok":                   {hist, ""},
		"history empty":                {set(hist, "Messages", []ChatMessage(nil)), ""},
		"history too many":             {set(hist, "Messages", make([]ChatMessage, MaxHistoryLimit+1)), "messages"},
		"history bad from":             {msgs(func(m *ChatMessage) { m.From = "alice" }), "messages[1].from"},
		"history bad to":               {msgs(func(m *ChatMessage) { m.To = "" }), "messages[1].to"},
		"history empty text":           {msgs(func(m *ChatMessage) { m.Text = "" }), "messages[1].text"},
		"history no sent_at":           {msgs(func(m *ChatMessage) { m.SentAt = Timestamp{} }), "messages[1].sent_at"},
		"history bad message id":       {msgs(func(m *ChatMessage) { m.MessageID = "" }), "messages[1].message_id"},
		"history bad reply_to":         {msgs(func(m *ChatMessage) { m.ReplyTo = "?" }), "messages[1].reply_to"},
		"offer ok":                     {offer, ""},
		"offer empty file":             {set(offer, "SizeBytes", int64(0)), ""},
		"offer negative size":          {set(offer, "SizeBytes", int64(-1)), "size_bytes"},
		"offer path":                   {set(offer, "Filename", "../etc/passwd"), "filename"},
		"offer windows path":           {set(offer, "Filename", `C:\x.txt`), "filename"},
		"offer dot":                    {set(offer, "Filename", "."), "filename"},
		"offer dot dot":                {set(offer, "Filename", ".."), "filename"},
		"offer dot file":               {set(offer, "Filename", ".bashrc"), ""},
		"offer NUL":                    {set(offer, "Filename", "a\x00.txt"), "filename"},
		"offer control character":      {set(offer, "Filename", "a\x1b[31m.txt"), "filename"},
		"offer empty name":             {set(offer, "Filename", ""), "filename"},
		"offer 255-byte name":          {set(offer, "Filename", strings.Repeat("n", 255)), ""},
		"offer 256-byte name":          {set(offer, "Filename", strings.Repeat("n", 256)), "filename"},
		"offer upper-case hash":        {set(offer, "SHA256", strings.ToUpper(fileSum)), "sha256"},
		"offer prefixed hash":          {set(offer, "SHA256", "sha256:"+fileSum), "sha256"},
		"offer legacy none hash":       {set(offer, "SHA256", "none"), "sha256"},
		"offer no mime type":           {set(offer, "MIMEType", ""), "mime_type"},
		"offer mime type with params":  {set(offer, "MIMEType", "text/plain; charset=utf-8"), ""},
		"offer bad mime type":          {set(offer, "MIMEType", "image"), "mime_type"},
		"offer chunk 1 KiB":            {set(offer, "ChunkSize", MinChunkSize), ""},
		"offer chunk 1 MiB":            {set(offer, "ChunkSize", MaxChunkSize), ""},
		"offer chunk too small":        {set(offer, "ChunkSize", MinChunkSize-1), "chunk_size"},
		"offer chunk too large":        {set(offer, "ChunkSize", MaxChunkSize+1), "chunk_size"},
		"accept ok":                    {accept, ""},
		"accept from start":            {set(accept, "Offset", int64(0)), ""},
		"accept negative offset":       {set(accept, "Offset", int64(-5)), "offset"},
		"accept no id":                 {set(accept, "TransferID", ""), "transfer_id"},
		"chunk ok":                     {chunk, ""},
		"chunk empty data":             {set(chunk, "Data", []byte{}), "data"},
		"chunk 1 MiB":                  {set(chunk, "Data", make([]byte, MaxChunkSize)), ""},
		"chunk over 1 MiB":             {set(chunk, "Data", make([]byte, MaxChunkSize+1)), "data"},
		"chunk negative offset":        {set(chunk, "Offset", int64(-1)), "offset"},
		"complete ok":                  {complete, ""},
		"complete bad hash":            {set(complete, "SHA256", fileSum[:63]), "sha256"},
		"cancel ok":                    {cancel, ""},
		"cancel newer reason code":     {set(cancel, "Reason", "quota_exceeded_v2"), ""},
		"cancel no reason":             {set(cancel, "Reason", ""), "reason"},
		"cancel free-text reason":      {set(cancel, "Reason", "User Cancelled"), "reason"},
		"cancel no message":            {set(cancel, "Message", ""), ""},
		"cancel long message":          {set(cancel, "Message", strings.Repeat("m", MaxReasonLen+1)), "message"},
		"error ok":                     {errReply, ""},
		"error without request id":     {set(set(errReply, "RequestID", ""), "RefusedCommand", ""), ""},
		"error bad request id":         {set(errReply, "RequestID", "x y"), "request_id"},
		"error bad command":            {set(errReply, "RefusedCommand", "send_text"), "command"},
		"error no code":                {set(errReply, "Code", ""), "code"},
		"error bad code":               {set(errReply, "Code", "Permission Denied"), "code"},
		"error no message":             {set(errReply, "Message", ""), "message"},
		"bye ok":                       {Bye{}, ""},
		"bye long reason":              {Bye{Reason: strings.Repeat("b", MaxReasonLen+1)}, "reason"},
		"bye reason invalid UTF-8":     {Bye{Reason: "\xff"}, "reason"},
		"hello name exactly 128 ASCII": {set(hello, "Name", strings.Repeat("a", 128)), ""},
	}
	runValidation(t, tests)
}

// TestDecodeStrictness feeds hand-written payload JSON to Decode.
func TestDecodeStrictness(t *testing.T) {
	t.Parallel()
	const ts = `"2026-03-01T09:30:00.250Z"`
	okText := `"message_id":"m1","text":"hi","sent_at":` + ts
	tests := map[string]struct {
		cmd       string
		payload   string // "" = absent
		wantErr   error
		wantField string
		wantMsg   string
	}{
		"send text ok":                {cmd: CmdSendText, payload: `{` + okText + `}`},
		"unknown fields ignored":      {cmd: CmdSendText, payload: `{` + okText + `,"priority":5,"extra":{"a":[1]}}`},
		"null optional field":         {cmd: CmdSendText, payload: `{` + okText + `,"reply_to":null}`},
		"wrong type text":             {cmd: CmdSendText, payload: `{"message_id":"m1","text":7,"sent_at":` + ts + `}`, wantErr: ErrInvalidPayload, wantField: "text", wantMsg: "got JSON number, want a string"},
		"wrong type sent_at":          {cmd: CmdSendText, payload: `{"message_id":"m1","text":"x","sent_at":1700000000}`, wantErr: ErrInvalidPayload, wantField: "sent_at", wantMsg: "RFC 3339"},
		"unparsable sent_at":          {cmd: CmdSendText, payload: `{"message_id":"m1","text":"x","sent_at":"yesterday"}`, wantErr: ErrInvalidPayload, wantField: "sent_at", wantMsg: `"yesterday"`},
		"null required field":         {cmd: CmdSendText, payload: `{"message_id":"m1","text":null,"sent_at":` + ts + `}`, wantErr: ErrInvalidPayload, wantField: "text", wantMsg: "required"},
		"duplicate known field":       {cmd: CmdSendText, payload: `{` + okText + `,"text":"other"}`, wantErr: ErrInvalidPayload, wantField: "text", wantMsg: "more than once"},
		"case variant field":          {cmd: CmdSendText, payload: `{"message_id":"m1","Text":"hi","sent_at":` + ts + `}`, wantErr: ErrInvalidPayload, wantField: `"Text"`, wantMsg: "case-sensitive"},
		"unicode-fold variant field":  {cmd: CmdSendText, payload: `{"meſſage_id":"m1","text":"hi","sent_at":` + ts + `}`, wantErr: ErrInvalidPayload, wantMsg: "case-sensitive"},
		"missing payload":             {cmd: CmdSendText, wantErr: ErrInvalidPayload, wantField: "message_id", wantMsg: "required"},
		"array payload":               {cmd: CmdSendText, payload: `[1]`, wantErr: ErrInvalidPayload, wantMsg: "not a JSON object"},
		"broken JSON payload":         {cmd: CmdSendText, payload: `{"a":`, wantErr: ErrInvalidPayload, wantMsg: "not valid JSON"},
		"bye absent payload":          {cmd: CmdBye},
		"bye null payload":            {cmd: CmdBye, payload: `null`},
		"float where int":             {cmd: CmdFileAccept, payload: `{"transfer_id":"t","offset":1.5}`, wantErr: ErrInvalidPayload, wantField: "offset", wantMsg: "want an integer"},
		"exponent where int":          {cmd: CmdFileAccept, payload: `{"transfer_id":"t","offset":1e3}`, wantErr: ErrInvalidPayload, wantField: "offset"},
		"huge int":                    {cmd: CmdFileAccept, payload: `{"transfer_id":"t","offset":99999999999999999999}`, wantErr: ErrInvalidPayload, wantField: "offset"},
		"string where int":            {cmd: CmdFileAccept, payload: `{"transfer_id":"t","offset":"0"}`, wantErr: ErrInvalidPayload, wantField: "offset"},
		"bad base64":                  {cmd: CmdFileChunk, payload: `{"transfer_id":"t","offset":0,"data":"@@@@"}`, wantErr: ErrInvalidPayload, wantMsg: "base64"},
		"unpadded base64":             {cmd: CmdFileChunk, payload: `{"transfer_id":"t","offset":0,"data":"AAE"}`, wantErr: ErrInvalidPayload, wantMsg: "base64"},
		"base64 ok":                   {cmd: CmdFileChunk, payload: `{"transfer_id":"t","offset":0,"data":"AAE="}`},
		"bool where string":           {cmd: CmdHello, payload: `{"node_id":true}`, wantErr: ErrInvalidPayload, wantField: "node_id"},
		"string where array":          {cmd: CmdHello, payload: `{"node_id":"` + aliceID + `","protocol":"dptp/1","capabilities":"files"}`, wantErr: ErrInvalidPayload, wantField: "capabilities", wantMsg: "want an array"},
		"legacy hello":                {cmd: CmdHello, payload: `{"node_id": "` + aliceID + `", "name": null, "cert_pem": "-----BEGIN", "nonce_signature": "AA=="}`, wantErr: ErrInvalidPayload, wantField: "protocol"},
		"history nested case variant": {cmd: CmdChatHistoryResponse, payload: `{"request_id":"r","messages":[{"message_id":"m","FROM":"x"}],"more":false}`, wantErr: ErrInvalidPayload, wantField: `messages[0]."FROM"`},
		"history nested duplicate":    {cmd: CmdChatHistoryResponse, payload: `{"request_id":"r","messages":[{"text":"a","text":"b"}],"more":false}`, wantErr: ErrInvalidPayload, wantField: "messages[0].text"},
		"history nested wrong type":   {cmd: CmdChatHistoryResponse, payload: `{"request_id":"r","messages":[7]}`, wantErr: ErrInvalidPayload, wantMsg: "want an object"},
		"history null messages":       {cmd: CmdChatHistoryResponse, payload: `{"request_id":"r","messages":null,"more":false}`},
		"history more wrong type":     {cmd: CmdChatHistoryResponse, payload: `{"request_id":"r","messages":[],"more":"yes"}`, wantErr: ErrInvalidPayload, wantField: "more"},
		"limit default":               {cmd: CmdRequestChatHistory, payload: `{"request_id":"r"}`},
		"since with offset":           {cmd: CmdRequestChatHistory, payload: `{"request_id":"r","since":"2026-03-01T11:30:00.250123+02:00"}`},
		"history cursor":              {cmd: CmdRequestChatHistory, payload: `{"request_id":"r","cursor":"AAAAAAAAAAA-_x"}`},
		"history cursor with a slash": {cmd: CmdRequestChatHistory, payload: `{"request_id":"r","cursor":"AAAA/AAA"}`, wantErr: ErrInvalidPayload, wantField: "cursor"},
		"history cursor too long":     {cmd: CmdChatHistoryResponse, payload: `{"request_id":"r","messages":[],"more":true,"cursor":"` + strings.Repeat("A", MaxCursorLen+1) + `"}`, wantErr: ErrInvalidPayload, wantField: "cursor"},
		"ack unknown status":          {cmd: CmdAck, payload: `{"message_id":"m","status":"STORED"}`, wantErr: ErrInvalidPayload, wantField: "status"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := Frame{Command: tc.cmd}
			if tc.payload != "" {
				f.Payload = json.RawMessage(tc.payload)
			}
			_, err := DecodePayload(f)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || !errContains(err, tc.wantMsg) {
				t.Fatalf("want %v containing %q, got %v", tc.wantErr, tc.wantMsg, err)
			}
			var fe *FieldError
			if tc.wantField != "" && (!errors.As(err, &fe) || fe.Field != tc.wantField) {
				t.Errorf("field: want %q got %v", tc.wantField, err)
			}
		})
	}
}

func TestTimestamp(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 3, 1, 9, 30, 0, 250_000_000, time.UTC)
	tests := map[string]struct {
		in      string
		want    time.Time
		wantOut string
		wantErr bool
	}{
		"canonical":        {in: `"2026-03-01T09:30:00.250Z"`, want: want, wantOut: `"2026-03-01T09:30:00.250Z"`},
		"no fraction":      {in: `"2026-03-01T09:30:00Z"`, want: want.Truncate(time.Second), wantOut: `"2026-03-01T09:30:00.000Z"`},
		"nanoseconds":      {in: `"2026-03-01T09:30:00.250999999Z"`, want: want, wantOut: `"2026-03-01T09:30:00.250Z"`},
		"offset":           {in: `"2026-03-01T11:30:00.25+02:00"`, want: want, wantOut: `"2026-03-01T09:30:00.250Z"`},
		"null":             {in: `null`},
		"number":           {in: `1700000000`, wantErr: true},
		"date only":        {in: `"2026-03-01"`, wantErr: true},
		"no zone":          {in: `"2026-03-01T09:30:00"`, wantErr: true},
		"space separator":  {in: `"2026-03-01 09:30:00Z"`, wantErr: true},
		"hour 24":          {in: `"2026-03-01T24:00:00Z"`, wantErr: true},
		"escaped is fine":  {in: `"2026-03-01T09:30:00.250\u005a"`, want: want, wantOut: `"2026-03-01T09:30:00.250Z"`},
		"object":           {in: `{}`, wantErr: true},
		"empty string":     {in: `""`, wantErr: true},
		"lower-case t & z": {in: `"2026-03-01t09:30:00.250z"`, want: want, wantOut: `"2026-03-01T09:30:00.250Z"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var ts Timestamp
			err := json.Unmarshal([]byte(tc.in), &ts)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %v", ts)
				}
				return
			}
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			if !ts.Equal(tc.want) || (!ts.IsZero() && ts.Location() != time.UTC) {
				t.Errorf("want %v got %v", tc.want, ts.Time)
			}
			if tc.wantOut == "" {
				return
			}
			out, err := json.Marshal(ts)
			if err != nil || string(out) != tc.wantOut {
				t.Errorf("marshal: want %s got %s (%v)", tc.wantOut, out, err)
			}
		})
	}
	if _, err := json.Marshal(NewTimestamp(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))); err == nil {
		t.Errorf("year 10000: want an error, got none")
	}
}

func TestEffectiveLimit(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ limit, want int }{
		"zero means default": {0, DefaultHistoryLimit},
		"one":                {1, 1},
		"max":                {MaxHistoryLimit, MaxHistoryLimit},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := (RequestChatHistory{Limit: tc.limit}).EffectiveLimit(); got != tc.want {
				t.Errorf("want %d got %d", tc.want, got)
			}
		})
	}
}

func TestFieldErrorMessage(t *testing.T) {
	t.Parallel()
	err := SendText{MessageID: "m", SentAt: sentAt}.Validate()
	if want := "dptp: invalid payload: SEND_TEXT.text: required"; err == nil || err.Error() != want {
		t.Errorf("want %q got %v", want, err)
	}
}

func TestChatHistoryTrimToFit(t *testing.T) {
	t.Parallel()
	many := func(n, textLen int) ChatHistoryResponse {
		r := ChatHistoryResponse{RequestID: "r"}
		for i := range n {
			r.Messages = append(r.Messages, ChatMessage{MessageID: "m" + strings.Repeat("0", i%3) + string(rune('a'+i%26)),
				From: aliceID, To: bobID, Text: strings.Repeat("<", textLen), SentAt: sentAt})
		}
		return r
	}
	tests := map[string]struct {
		resp     ChatHistoryResponse
		maxFrame int
		wantAll  bool
	}{
		"small fits":               {many(10, 100), 0, true},
		"empty fits":               {many(0, 0), 0, true},
		"full texts do not fit":    {many(MaxHistoryLimit, MaxTextLen), 0, false},
		"tight custom limit":       {many(50, 1000), 20_000, false},
		"limit above default caps": {many(100, MaxTextLen), 1 << 30, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := tc.resp.TrimToFit(tc.maxFrame)
			// The responder then sets the cursor, of any length.
			got.Cursor = strings.Repeat("c", MaxCursorLen)
			max := tc.maxFrame
			if max <= 0 || max > DefaultMaxFrameSize {
				max = DefaultMaxFrameSize
			}
			raw, err := Encode(CmdChatHistoryResponse, got)
			if err != nil {
				t.Fatalf("Encode: want no error, got %v", err)
			}
			if size := len(raw) - HeaderSize; size > max {
				t.Errorf("frame: want at most %d bytes, got %d", max, size)
			}
			if all := len(got.Messages) == len(tc.resp.Messages); all != tc.wantAll || got.More == tc.wantAll {
				t.Errorf("want all=%v more=%v, got %d of %d messages, more=%v", tc.wantAll, !tc.wantAll, len(got.Messages), len(tc.resp.Messages), got.More)
			}
			if !tc.wantAll {
				// One more message would not have fitted.
				next := got
				next.Messages = tc.resp.Messages[:len(got.Messages)+1]
				if raw, err := Encode(CmdChatHistoryResponse, next); err == nil && len(raw)-HeaderSize <= max {
					t.Errorf("trimmed too much: %d messages would still fit", len(next.Messages))
				}
			}
		})
	}
}
