package dptp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

func TestRoundTripEveryPayload(t *testing.T) {
	t.Parallel()
	for cmd, p := range samplePayloads() {
		t.Run(cmd, func(t *testing.T) {
			t.Parallel()
			raw := mustEncode(t, cmd, p)
			if got, want := string(raw[:HeaderSize]), fmt.Sprintf("%010d", len(raw)-HeaderSize); got != want {
				t.Errorf("header: want %s got %s", want, got)
			}
			f, err := NewReader(bytes.NewReader(raw), 0).Read()
			if err != nil {
				t.Fatalf("Read: want no error, got %v", err)
			}
			if f.Command != cmd {
				t.Errorf("command: want %s got %s", cmd, f.Command)
			}
			got, err := DecodePayload(f)
			if err != nil {
				t.Fatalf("DecodePayload: want no error, got %v", err)
			}
			if !reflect.DeepEqual(got, p) {
				t.Errorf("payload:\nwant %#v\ngot  %#v", p, got)
			}
			if again := mustEncode(t, cmd, got); !bytes.Equal(again, raw) {
				t.Errorf("re-encoding:\nwant %s\ngot  %s", raw, again)
			}
		})
	}
}

func TestEncodeShape(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		cmd     string
		payload any
		want    string
	}{
		"no payload":          {CmdBye, nil, `{"command":"BYE"}`},
		"typed nil pointer":   {CmdBye, (*Bye)(nil), `{"command":"BYE"}`},
		"null raw message":    {"GET_PROVIDERS", json.RawMessage("null"), `{"command":"GET_PROVIDERS"}`},
		"empty payload":       {CmdBye, Bye{}, `{"command":"BYE","payload":{}}`},
		"map payload":         {"PING", map[string]int{"n": 1}, `{"command":"PING","payload":{"n":1}}`},
		"raw object payload":  {"PING", json.RawMessage(`{ "n" : 1 }`), `{"command":"PING","payload":{"n":1}}`},
		"html not escaped":    {CmdBye, Bye{Reason: "<a&b>"}, `{"command":"BYE","payload":{"reason":"<a&b>"}}`},
		"empty history array": {CmdChatHistoryResponse, ChatHistoryResponse{RequestID: "r"}, `{"command":"CHAT_HISTORY_RESPONSE","payload":{"request_id":"r","messages":[],"more":false}}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := mustEncode(t, tc.cmd, tc.payload)
			if want := string(frameBytes(tc.want)); string(got) != want {
				t.Errorf("want %s got %s", want, got)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	t.Parallel()
	big := json.RawMessage(`{"x":"` + strings.Repeat("a", DefaultMaxFrameSize) + `"}`)
	tests := map[string]struct {
		cmd     string
		payload any
		want    error
	}{
		"empty command":       {"", nil, ErrBadFrame},
		"lower-case command":  {"hello", nil, ErrBadFrame},
		"command too long":    {strings.Repeat("A", MaxCommandLen+1), nil, ErrBadFrame},
		"string payload":      {"X", "text", ErrBadFrame},
		"array payload":       {"X", []int{1}, ErrBadFrame},
		"number payload":      {"X", 7, ErrBadFrame},
		"unencodable payload": {"X", map[string]any{"f": func() {}}, nil},
		"command mismatch":    {CmdAck, Bye{}, ErrCommandMismatch},
		"invalid payload":     {CmdSendText, SendText{MessageID: "m"}, ErrInvalidPayload},
		"too large":           {"X", big, ErrFrameTooLarge},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, err := Encode(tc.cmd, tc.payload)
			if err == nil {
				t.Fatalf("want an error, got frame of %d bytes", len(b))
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("want %v got %v", tc.want, err)
			}
		})
	}
}

func TestReaderFrames(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("A", MaxCommandLen)
	tests := map[string]struct {
		body        string
		wantCmd     string
		wantPayload string // compact JSON; "" = nil
		wantErr     error
		wantMsg     string
	}{
		"minimal":                {body: `{"command":"BYE"}`, wantCmd: "BYE"},
		"payload object":         {body: `{"command":"X","payload":{"a":[1,{"b":"}"}]}}`, wantCmd: "X", wantPayload: `{"a":[1,{"b":"}"}]}`},
		"null payload":           {body: `{"command":"X","payload":null}`, wantCmd: "X"},
		"python spacing":         {body: ` {"command": "SEND_TEXT", "payload": {"text": "J\u00fcrgen"}} `, wantCmd: "SEND_TEXT", wantPayload: `{"text":"J\u00fcrgen"}`},
		"payload first":          {body: `{"payload":{},"command":"X"}`, wantCmd: "X", wantPayload: `{}`},
		"extra top-level keys":   {body: `{"command":"HELLO_ACK","status":"OK","name":null,"node_id":"` + aliceID + `"}`, wantCmd: "HELLO_ACK"},
		"escaped command":        {body: `{"command":"\u0042YE"}`, wantCmd: "BYE"},
		"64-char command":        {body: `{"command":"` + long + `"}`, wantCmd: long},
		"digits and underscore":  {body: `{"command":"V2_X"}`, wantCmd: "V2_X"},
		"empty body":             {body: ``, wantErr: ErrBadFrame, wantMsg: "empty"},
		"not JSON":               {body: `hello`, wantErr: ErrBadFrame, wantMsg: "not valid JSON"},
		"trailing garbage":       {body: `{"command":"X"}x`, wantErr: ErrBadFrame, wantMsg: "not valid JSON"},
		"two objects":            {body: `{"command":"X"}{"command":"Y"}`, wantErr: ErrBadFrame},
		"array":                  {body: `[{"command":"X"}]`, wantErr: ErrBadFrame, wantMsg: "not a JSON object"},
		"string":                 {body: `"X"`, wantErr: ErrBadFrame, wantMsg: "not a JSON object"},
		"invalid UTF-8":          {body: "{\"command\":\"X\",\"payload\":{\"t\":\"\xff\"}}", wantErr: ErrBadFrame, wantMsg: "UTF-8"},
		"missing command":        {body: `{"payload":{}}`, wantErr: ErrBadFrame, wantMsg: `missing "command"`},
		"empty command":          {body: `{"command":""}`, wantErr: ErrBadFrame, wantMsg: "[A-Z0-9_]"},
		"null command":           {body: `{"command":null}`, wantErr: ErrBadFrame, wantMsg: "null, want a string"},
		"number command":         {body: `{"command":7}`, wantErr: ErrBadFrame, wantMsg: "number, want a string"},
		"lower-case command":     {body: `{"command":"hello"}`, wantErr: ErrBadFrame},
		"command with space":     {body: `{"command":"SEND TEXT"}`, wantErr: ErrBadFrame},
		"command too long":       {body: `{"command":"` + long + `A"}`, wantErr: ErrBadFrame},
		"case-variant key":       {body: `{"Command":"X"}`, wantErr: ErrBadFrame, wantMsg: `missing "command"`},
		"duplicate command":      {body: `{"command":"X","command":"Y"}`, wantErr: ErrBadFrame, wantMsg: "duplicate"},
		"duplicate payload":      {body: `{"command":"X","payload":{},"payload":{"a":1}}`, wantErr: ErrBadFrame, wantMsg: "duplicate"},
		"array payload":          {body: `{"command":"X","payload":[]}`, wantErr: ErrBadFrame, wantMsg: "array, want an object"},
		"string payload":         {body: `{"command":"X","payload":"{}"}`, wantErr: ErrBadFrame, wantMsg: "string, want an object"},
		"number payload":         {body: `{"command":"X","payload":0}`, wantErr: ErrBadFrame},
		"unterminated":           {body: `{"command":"X"`, wantErr: ErrBadFrame},
		"escaped quote in value": {body: `{"command":"X","payload":{"a":"\"}\\"}}`, wantCmd: "X", wantPayload: `{"a":"\"}\\"}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, err := NewReader(bytes.NewReader(frameBytes(tc.body)), 0).Read()
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !errContains(err, tc.wantMsg) {
					t.Fatalf("want %v (containing %q) got %v", tc.wantErr, tc.wantMsg, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			if f.Command != tc.wantCmd {
				t.Errorf("command: want %q got %q", tc.wantCmd, f.Command)
			}
			switch {
			case tc.wantPayload == "" && f.Payload != nil:
				t.Errorf("payload: want nil got %s", f.Payload)
			case tc.wantPayload != "" && compact(f.Payload) != tc.wantPayload:
				t.Errorf("payload: want %s got %s", tc.wantPayload, f.Payload)
			}
		})
	}
}

// countingReader serves data and records how many bytes were read.
type countingReader struct {
	r    io.Reader
	read int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}

func TestReaderHeader(t *testing.T) {
	t.Parallel()
	const max = 100
	body := `{"command":"X","payload":{"s":"` + strings.Repeat("a", max-34) + `"}}`
	if len(body) != max {
		t.Fatalf("test setup: body is %d bytes, want %d", len(body), max)
	}
	tests := map[string]struct {
		input   string
		wantErr error
		wantMsg []string
	}{
		"exactly max":       {input: string(frameBytes(body))},
		"leading zeros":     {input: "0000000017" + `{"command":"BYE"}`},
		"max plus one":      {input: "0000000101" + body + " ", wantErr: ErrFrameTooLarge, wantMsg: []string{"101", "100"}},
		"all nines":         {input: "9999999999", wantErr: ErrFrameTooLarge, wantMsg: []string{"9999999999", "100"}},
		"GET request":       {input: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", wantErr: ErrBadHeader, wantMsg: []string{"HTTP request on a DPTP port"}},
		"POST request":      {input: "POST /api HTTP/1.1\r\n", wantErr: ErrBadHeader, wantMsg: []string{"HTTP request on a DPTP port"}},
		"HEAD request":      {input: "HEAD / HTTP/1.1\r\n", wantErr: ErrBadHeader, wantMsg: []string{"HTTP request on a DPTP port"}},
		"PUT request":       {input: "PUT /x HTTP/1.1\r\n", wantErr: ErrBadHeader, wantMsg: []string{"HTTP request on a DPTP port"}},
		"HTTP/2 preface":    {input: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", wantErr: ErrBadHeader, wantMsg: []string{"HTTP request on a DPTP port"}},
		"GET without slash": {input: "GETXXXXXXX", wantErr: ErrBadHeader, wantMsg: []string{"not 10 ASCII decimal digits"}},
		"negative":          {input: "-000000017" + `{"command":"BYE"}`, wantErr: ErrBadHeader, wantMsg: []string{`"-000000017"`}},
		"plus sign":         {input: "+000000017" + `{"command":"BYE"}`, wantErr: ErrBadHeader},
		"leading space":     {input: "        17" + `{"command":"BYE"}`, wantErr: ErrBadHeader},
		"trailing space":    {input: "17        " + `{"command":"BYE"}`, wantErr: ErrBadHeader},
		"hex":               {input: "0x00000011" + `{"command":"BYE"}`, wantErr: ErrBadHeader},
		"unicode digit":     {input: "000000001٧" + `{"command":"BYE"}`, wantErr: ErrBadHeader},
		"JSON without len":  {input: `{"command":"BYE"}`, wantErr: ErrBadHeader},
		"zero length":       {input: "0000000000", wantErr: ErrBadFrame, wantMsg: []string{"empty"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src := &countingReader{r: strings.NewReader(tc.input)}
			f, err := NewReader(src, max).Read()
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("want a frame, got %v", err)
				}
				if f.Command == "" {
					t.Errorf("want a command, got an empty frame")
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || !errContains(err, tc.wantMsg...) {
				t.Fatalf("want %v containing %q, got %v", tc.wantErr, tc.wantMsg, err)
			}
			if !errors.Is(tc.wantErr, ErrBadFrame) && src.read != HeaderSize {
				t.Errorf("bytes consumed after a bad header: want %d got %d", HeaderSize, src.read)
			}
		})
	}
}

func TestReaderTruncation(t *testing.T) {
	t.Parallel()
	full := string(mustEncode(t, CmdBye, Bye{Reason: "x"}))
	tests := map[string]struct {
		input      string
		wantFrames int
		wantErr    error
	}{
		"empty stream":          {input: "", wantErr: io.EOF},
		"one frame then EOF":    {input: full, wantFrames: 1, wantErr: io.EOF},
		"two frames then EOF":   {input: full + full, wantFrames: 2, wantErr: io.EOF},
		"partial header":        {input: "00000", wantErr: io.ErrUnexpectedEOF},
		"header only":           {input: full[:HeaderSize], wantErr: io.ErrUnexpectedEOF},
		"partial body":          {input: full[:len(full)-1], wantErr: io.ErrUnexpectedEOF},
		"frame + partial frame": {input: full + full[:HeaderSize+3], wantFrames: 1, wantErr: io.ErrUnexpectedEOF},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(strings.NewReader(tc.input), 0)
			frames := 0
			var err error
			for {
				if _, err = r.Read(); err != nil {
					break
				}
				frames++
			}
			if frames != tc.wantFrames {
				t.Errorf("frames: want %d got %d", tc.wantFrames, frames)
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error: want %v got %v", tc.wantErr, err)
			}
			if tc.wantErr == io.EOF && err != io.EOF {
				t.Errorf("clean end: want io.EOF itself, got %v", err)
			}
			if tc.wantErr != io.EOF && errors.Is(err, io.EOF) {
				t.Errorf("truncation must not look like a clean end: got %v", err)
			}
			if _, again := r.Read(); again != err {
				t.Errorf("sticky error: want %v got %v", err, again)
			}
		})
	}
}

func TestReaderKeepsGoingAfterBadFrame(t *testing.T) {
	t.Parallel()
	var in bytes.Buffer
	in.Write(frameBytes(`[1,2]`))
	in.Write(mustEncode(t, CmdBye, nil))
	r := NewReader(&in, 0)
	if _, err := r.Read(); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("first frame: want ErrBadFrame got %v", err)
	}
	f, err := r.Read()
	if err != nil || f.Command != CmdBye {
		t.Fatalf("second frame: want BYE got %q, %v", f.Command, err)
	}
}

func TestReaderUnderlyingError(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	tests := map[string]io.Reader{
		"in header": io.MultiReader(strings.NewReader("00000"), iotest.ErrReader(boom)),
		"in body":   io.MultiReader(strings.NewReader("0000000017{\"comm"), iotest.ErrReader(boom)),
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(src, 0)
			_, err := r.Read()
			if !errors.Is(err, boom) {
				t.Fatalf("want %v got %v", boom, err)
			}
			if _, again := r.Read(); again != err {
				t.Errorf("sticky error: want %v got %v", err, again)
			}
		})
	}
}

// TestReaderSmallReads feeds a stream of every payload, plus a frame larger
// than the initial body buffer, through readers that return very little per
// call; the frames must come out identical.
func TestReaderSmallReads(t *testing.T) {
	t.Parallel()
	var stream bytes.Buffer
	var want []Frame
	add := func(cmd string, p any) {
		raw := mustEncode(t, cmd, p)
		stream.Write(raw)
		f, err := NewReader(bytes.NewReader(raw), 0).Read()
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, f)
	}
	for cmd, p := range samplePayloads() {
		add(cmd, p)
	}
	big := make([]byte, MaxChunkSize)
	for i := range big {
		big[i] = byte(i * 7)
	}
	add(CmdFileChunk, FileChunk{TransferID: "t", Data: big})
	add(CmdBye, nil)

	tests := map[string]func(io.Reader) io.Reader{
		"one byte":     iotest.OneByteReader,
		"half":         iotest.HalfReader,
		"data and EOF": iotest.DataErrReader,
	}
	for name, wrap := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(wrap(bytes.NewReader(stream.Bytes())), 0)
			for i, w := range want {
				got, err := r.Read()
				if err != nil {
					t.Fatalf("frame %d (%s): want no error, got %v", i, w.Command, err)
				}
				if got.Command != w.Command || !bytes.Equal(got.Payload, w.Payload) {
					t.Fatalf("frame %d: want %s (%d payload bytes) got %s (%d payload bytes)", i, w.Command, len(w.Payload), got.Command, len(got.Payload))
				}
			}
			if _, err := r.Read(); err != io.EOF {
				t.Errorf("after the last frame: want io.EOF got %v", err)
			}
		})
	}
}

// TestReaderAllocatesByArrival checks that a peer announcing the maximum
// frame size and then sending nothing does not make the reader allocate the
// announced size. Not parallel: it measures the process's allocations.
func TestReaderAllocatesByArrival(t *testing.T) {
	const max = 64 << 20
	input := fmt.Sprintf("%010d", max) + `{"command":"X","payload":{"x":"`
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := NewReader(strings.NewReader(input), max).Read()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("want io.ErrUnexpectedEOF got %v", err)
	}
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(2*initialBodyBuffer); got > limit {
		t.Errorf("allocated: want at most %d bytes, got %d", limit, got)
	}
}

// recordingWriter records each Write call separately.
type recordingWriter struct {
	mu    sync.Mutex
	calls [][]byte
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, bytes.Clone(p))
	return len(p), nil
}

func TestWriterConcurrent(t *testing.T) {
	t.Parallel()
	const writers, perWriter = 8, 200
	rec := &recordingWriter{}
	w := NewWriter(rec)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range perWriter {
				text := strings.Repeat(strconv.Itoa(g), 1+i%300)
				err := w.Send(SendText{MessageID: fmt.Sprintf("g%d-%d", g, i), Text: text, SentAt: sentAt})
				if err != nil {
					t.Errorf("Send: want no error, got %v", err)
					return
				}
			}
		})
	}
	wg.Wait()

	if got, want := len(rec.calls), writers*perWriter; got != want {
		t.Fatalf("Write calls: want %d (one per frame) got %d", want, got)
	}
	var stream bytes.Buffer
	for i, call := range rec.calls {
		if n, err := strconv.Atoi(string(call[:HeaderSize])); err != nil || n != len(call)-HeaderSize {
			t.Fatalf("call %d: want exactly one frame, got header %q for %d bytes", i, call[:HeaderSize], len(call))
		}
		stream.Write(call)
	}
	next := make([]int, writers)
	r := NewReader(&stream, 0)
	for range writers * perWriter {
		f, err := r.Read()
		if err != nil {
			t.Fatalf("Read: want no error, got %v", err)
		}
		m, err := Decode[SendText](f)
		if err != nil {
			t.Fatalf("Decode: want no error, got %v", err)
		}
		var g, i int
		if _, err := fmt.Sscanf(m.MessageID, "g%d-%d", &g, &i); err != nil {
			t.Fatalf("message id %q: %v", m.MessageID, err)
		}
		if i != next[g] {
			t.Fatalf("writer %d: want message %d got %d", g, next[g], i)
		}
		if want := strings.Repeat(strconv.Itoa(g), 1+i%300); m.Text != want {
			t.Fatalf("message %s: text corrupted", m.MessageID)
		}
		next[g]++
	}
	if _, err := r.Read(); err != io.EOF {
		t.Errorf("after all frames: want io.EOF got %v", err)
	}
}

// failingWriter fails every write after the first n bytes.
type failingWriter struct {
	budget int
	calls  int
}

var errDiskGone = errors.New("broken pipe")

func (w *failingWriter) Write(p []byte) (int, error) {
	w.calls++
	if len(p) > w.budget {
		n := w.budget
		w.budget = 0
		return n, errDiskGone
	}
	w.budget -= len(p)
	return len(p), nil
}

func TestWriterStickyError(t *testing.T) {
	t.Parallel()
	fw := &failingWriter{budget: 30}
	w := NewWriter(fw)
	if err := w.Write(CmdBye, nil); err != nil {
		t.Fatalf("first frame: want no error, got %v", err)
	}
	if err := w.Send(Bye{Reason: "bye"}); !errors.Is(err, errDiskGone) {
		t.Fatalf("second frame: want %v got %v", errDiskGone, err)
	}
	if err := w.Write(CmdBye, nil); !errors.Is(err, errDiskGone) {
		t.Errorf("after a failed write: want %v got %v", errDiskGone, err)
	}
	if fw.calls != 2 {
		t.Errorf("underlying Write calls: want 2 got %d", fw.calls)
	}
}

func TestWriterEncodeErrorIsNotSticky(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := NewWriter(&out)
	if err := w.Send(SendText{}); !errors.Is(err, ErrInvalidPayload) {
		t.Fatalf("invalid payload: want ErrInvalidPayload got %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("bytes written for an invalid payload: want 0 got %d", out.Len())
	}
	if err := w.Write(CmdBye, nil); err != nil {
		t.Errorf("next frame: want no error, got %v", err)
	}
}

// TestReaderSetMax: a limit changed between frames applies to the next
// frame — a stranger's session reads small frames until the peer becomes a
// contact, then large ones.
func TestReaderSetMax(t *testing.T) {
	t.Parallel()
	body := `{"command":"X","payload":{"s":"` + strings.Repeat("a", 200) + `"}}`
	for _, tc := range []struct {
		name    string
		initial int
		set     int
		wantErr error
	}{
		{name: "raised from stranger to contact", initial: 100, set: 1000},
		{name: "lowered below the frame", initial: 1000, set: 100, wantErr: ErrFrameTooLarge},
		{name: "zero means the default", initial: 100, set: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(bytes.NewReader(append(frameBytes(`{"command":"BYE"}`), frameBytes(body)...)), tc.initial)
			if _, err := r.Read(); err != nil {
				t.Fatalf("first frame: %v", err)
			}
			r.SetMax(tc.set)
			if _, err := r.Read(); !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("second frame: want %v, got %v", tc.wantErr, err)
			}
		})
	}
}
