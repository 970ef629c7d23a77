package dptp

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// Command names. Where D-PC v1 has a command with the same meaning, the name
// is the same.
const (
	// CmdHello opens a session; both sides send it first. Payload: Hello.
	CmdHello = "HELLO"
	// CmdSendText carries one direct text message. Payload: SendText; answered by ACK.
	CmdSendText = "SEND_TEXT"
	// CmdAck answers SEND_TEXT once the message is durably stored (or refused). Payload: Ack.
	CmdAck = "ACK"
	// CmdRequestChatHistory asks for the conversation's messages. Payload: RequestChatHistory.
	CmdRequestChatHistory = "REQUEST_CHAT_HISTORY"
	// CmdChatHistoryResponse answers REQUEST_CHAT_HISTORY. Payload: ChatHistoryResponse.
	CmdChatHistoryResponse = "CHAT_HISTORY_RESPONSE"
	// CmdFileOffer proposes a file transfer. Payload: FileOffer.
	CmdFileOffer = "FILE_OFFER"
	// CmdFileAccept accepts an offer and says where to (re)start. Payload: FileAccept.
	CmdFileAccept = "FILE_ACCEPT"
	// CmdFileChunk carries file bytes at an offset. Payload: FileChunk.
	CmdFileChunk = "FILE_CHUNK"
	// CmdFileComplete is sent by the receiver after verifying the whole file. Payload: FileComplete.
	CmdFileComplete = "FILE_COMPLETE"
	// CmdFileCancel aborts a transfer, from either side. Payload: FileCancel.
	CmdFileCancel = "FILE_CANCEL"
	// CmdError refuses a request or reports a failure. Payload: ErrorReply.
	CmdError = "ERROR"
	// CmdBye announces a polite close. Payload: Bye (may be absent).
	CmdBye = "BYE"
)

// Payload is implemented by every payload type of this package (with value
// receivers, so Decode[SendText] works on the plain struct type).
type Payload interface {
	// Command returns the command name this payload travels under.
	Command() string
	// Validate checks required fields and limits; errors are *FieldError.
	Validate() error
}

// decoders maps every known command to a decoder returning its payload type.
var decoders = map[string]func(Frame) (Payload, error){
	CmdHello:               decodeAs[Hello],
	CmdSendText:            decodeAs[SendText],
	CmdAck:                 decodeAs[Ack],
	CmdRequestChatHistory:  decodeAs[RequestChatHistory],
	CmdChatHistoryResponse: decodeAs[ChatHistoryResponse],
	CmdFileOffer:           decodeAs[FileOffer],
	CmdFileAccept:          decodeAs[FileAccept],
	CmdFileChunk:           decodeAs[FileChunk],
	CmdFileComplete:        decodeAs[FileComplete],
	CmdFileCancel:          decodeAs[FileCancel],
	CmdError:               decodeAs[ErrorReply],
	CmdBye:                 decodeAs[Bye],

	CmdRequestContext:          decodeAs[RequestContext],
	CmdContextResponse:         decodeAs[ContextResponse],
	CmdContextUpdated:          decodeAs[ContextUpdated],
	CmdGetProviders:            decodeAs[GetProviders],
	CmdProvidersResponse:       decodeAs[ProvidersResponse],
	CmdRemoteInferenceRequest:  decodeAs[RemoteInferenceRequest],
	CmdRemoteInferenceChunk:    decodeAs[RemoteInferenceChunk],
	CmdRemoteInferenceResponse: decodeAs[RemoteInferenceResponse],

	CmdPing: decodeAs[Ping],
	CmdPong: decodeAs[Pong],

	CmdChannelOps:          decodeAs[ChannelOps],
	CmdChannelSync:         decodeAs[ChannelSync],
	CmdChannelSyncResponse: decodeAs[ChannelSyncResponse],
	CmdChannelWant:         decodeAs[ChannelWant],

	CmdIntroduce:    decodeAs[Introduce],
	CmdIntroduceAck: decodeAs[IntroduceAck],
}

func decodeAs[T Payload](f Frame) (Payload, error) {
	v, err := Decode[T](f)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Known reports whether command is one this package has a payload type for.
func Known(command string) bool {
	_, ok := decoders[command]
	return ok
}

// DecodePayload decodes f into the payload type of its command (a value such
// as SendText, not a pointer). A command this package does not know gives
// ErrUnknownCommand.
func DecodePayload(f Frame) (Payload, error) {
	dec, ok := decoders[f.Command]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownCommand, quoteShort(f.Command))
	}
	return dec(f)
}

// Decode decodes the payload of f as T and validates it.
//
// Decoding is strict about what it understands and tolerant of what it does
// not: unknown fields are ignored (the peer may be newer), but a known field
// with the wrong JSON type, a known field given twice, or a field whose name
// differs from a known one only in letter case (which encoding/json would
// otherwise silently accept) is an error. An absent or null payload decodes
// like {}. Every error wraps ErrInvalidPayload (as a *FieldError), except a
// frame of another command, which gives ErrCommandMismatch.
func Decode[T Payload](f Frame) (T, error) {
	var v, zero T
	cmd := v.Command()
	if f.Command != cmd {
		return zero, fmt.Errorf("%w: frame is %s, want %s", ErrCommandMismatch, quoteShort(f.Command), cmd)
	}
	data := []byte(f.Payload)
	if len(data) == 0 || string(data) == "null" {
		data = []byte("{}")
	}
	// No json.Valid pass here: checkFields rejects malformed JSON and
	// json.Unmarshal validates again; a frame from Reader was checked whole.
	if !isObject(data) {
		return zero, fieldErr(cmd, "", "payload is not a JSON object")
	}
	if err := checkFields(data, reflect.TypeOf(v), cmd, ""); err != nil {
		if errors.Is(err, errMalformed) {
			return zero, fieldErr(cmd, "", "payload is not valid JSON")
		}
		return zero, err
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return zero, unmarshalErr(cmd, err)
	}
	if err := v.Validate(); err != nil {
		return zero, err
	}
	return v, nil
}

func unmarshalErr(cmd string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fieldErr(cmd, te.Field, "got JSON %s, want %s", te.Value, describeType(te.Type))
	}
	var be base64.CorruptInputError
	if errors.As(err, &be) {
		return fieldErr(cmd, "", "bad base64 data at input byte %d", int64(be))
	}
	return fieldErr(cmd, "", "%v", err)
}

func describeType(t reflect.Type) string {
	switch {
	case t == nil:
		return "another type"
	case t == reflect.TypeFor[Timestamp]():
		return "an RFC 3339 time string"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return "a base64 string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

// structField is one JSON field of a payload struct.
type structField struct {
	name string
	typ  reflect.Type
}

var fieldCache sync.Map // reflect.Type -> []structField

func fieldsOf(t reflect.Type) []structField {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]structField)
	}
	var fields []structField
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		fields = append(fields, structField{name: name, typ: sf.Type})
	}
	fieldCache.Store(t, fields)
	return fields
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// nestedStruct reports whether values of t are decoded field by field by
// encoding/json (a plain struct, not one with its own UnmarshalJSON).
func nestedStruct(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(unmarshalerType)
}

// checkFields rejects, in the JSON object data that will be decoded into the
// struct type t, a known key given twice or a key that matches a known one
// only case-insensitively. It descends into nested structs and slices of
// structs. Other keys are left alone.
func checkFields(data []byte, t reflect.Type, cmd, path string) error {
	fields := fieldsOf(t)
	var seen []string
	return eachMember(data, func(key string, val []byte) error {
		for _, f := range fields {
			if key != f.name {
				continue
			}
			for _, s := range seen {
				if s == key {
					return fieldErr(cmd, join(path, key), "given more than once")
				}
			}
			seen = append(seen, key)
			return checkNested(val, f.typ, cmd, join(path, key))
		}
		for _, f := range fields {
			if strings.EqualFold(key, f.name) {
				return fieldErr(cmd, join(path, quoteShort(key)), "field names are case-sensitive: want %q", f.name)
			}
		}
		return nil // unknown field: ignored
	})
}

func checkNested(val []byte, t reflect.Type, cmd, path string) error {
	switch {
	case nestedStruct(t) && isObject(val):
		return checkFields(val, t, cmd, path)
	case t.Kind() == reflect.Slice && nestedStruct(t.Elem()) && jsonKind(val) == "array":
		return eachElement(val, func(i int, elem []byte) error {
			if !isObject(elem) {
				return nil // encoding/json reports the type error
			}
			return checkFields(elem, t.Elem(), cmd, fmt.Sprintf("%s[%d]", path, i))
		})
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
