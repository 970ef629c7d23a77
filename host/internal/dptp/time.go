package dptp

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// TimeLayout is how DPTP writes times: RFC 3339 in UTC with exactly three
// fractional digits, e.g. "2026-03-01T09:30:00.250Z".
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Timestamp is a UTC instant with millisecond precision, encoded as a JSON
// string in TimeLayout. Decoding accepts any RFC 3339 time (any offset, any
// number of fractional digits), converts it to UTC and truncates it to the
// millisecond, so a decoded value re-encodes canonically. The zero value
// means "absent" (fields that may be absent are tagged omitzero).
type Timestamp struct {
	time.Time
}

// NewTimestamp returns t in UTC, truncated to the millisecond.
func NewTimestamp(t time.Time) Timestamp {
	return Timestamp{t.UTC().Truncate(time.Millisecond)}
}

// Now returns the current time as a Timestamp.
func Now() Timestamp { return NewTimestamp(time.Now()) }

// String returns the time in TimeLayout.
func (t Timestamp) String() string {
	return NewTimestamp(t.Time).Format(TimeLayout)
}

// MarshalJSON encodes the time as a TimeLayout string. Years outside
// 0000..9999 cannot be written in RFC 3339 and are an error.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	u := NewTimestamp(t.Time)
	if y := u.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("dptp: timestamp year %d outside 0000..9999", y)
	}
	return []byte(`"` + u.Format(TimeLayout) + `"`), nil
}

// UnmarshalJSON decodes an RFC 3339 time string; null leaves t unchanged.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	typeErr := func(value string) error {
		return &json.UnmarshalTypeError{Value: value, Type: reflect.TypeFor[Timestamp]()}
	}
	if len(b) == 0 || b[0] != '"' {
		return typeErr(jsonKind(b))
	}
	s, err := unquote(b)
	if err != nil {
		return typeErr("string")
	}
	// RFC 3339 allows lower-case "t" and "z"; time.Parse does not.
	parsed, err := time.Parse(time.RFC3339Nano, strings.NewReplacer("t", "T", "z", "Z").Replace(s))
	if err != nil {
		return typeErr("string " + quoteShort(s))
	}
	*t = NewTimestamp(parsed)
	return nil
}
