package rtc

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const testCID = "0123456789abcdef0123456789abcdef"

func TestDecodeSignal(t *testing.T) {
	tests := map[string]struct {
		typ     string
		payload string
		wantErr string // "" means valid
	}{
		"offer":                {typ: typeOffer, payload: `{"type":"webrtc-offer","cid":"` + testCID + `","sdp":"v=0\r\n"}`},
		"restart offer":        {typ: typeOffer, payload: `{"type":"webrtc-offer","cid":"` + testCID + `","sdp":"v=0","restart":true}`},
		"answer":               {typ: typeAnswer, payload: `{"type":"webrtc-answer","cid":"` + testCID + `","sdp":"v=0"}`},
		"candidate":            {typ: typeCandidate, payload: `{"type":"webrtc-candidate","cid":"` + testCID + `","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abc"}}`},
		"end of candidates":    {typ: typeCandidate, payload: `{"type":"webrtc-candidate","cid":"` + testCID + `","candidate":{"candidate":""}}`},
		"close":                {typ: typeClose, payload: `{"type":"webrtc-close","cid":"` + testCID + `","reason":"bye"}`},
		"unknown members kept": {typ: typeClose, payload: `{"type":"webrtc-close","cid":"` + testCID + `","x":[1,2,{"y":null}]}`},

		"unknown type":           {typ: "webrtc-nope", payload: `{}`, wantErr: "unknown type"},
		"not json":               {typ: typeOffer, payload: `nope`, wantErr: "not a JSON object"},
		"json array":             {typ: typeOffer, payload: `[1]`, wantErr: "not a JSON object"},
		"empty":                  {typ: typeOffer, payload: ``, wantErr: "not a JSON object"},
		"trailing garbage":       {typ: typeClose, payload: `{"type":"webrtc-close","cid":"` + testCID + `"}x`, wantErr: "does not decode"},
		"type differs":           {typ: typeOffer, payload: `{"type":"webrtc-answer","cid":"` + testCID + `","sdp":"v=0"}`, wantErr: "differs"},
		"no type member":         {typ: typeClose, payload: `{"cid":"` + testCID + `"}`, wantErr: "differs"},
		"cid upper case":         {typ: typeClose, payload: `{"type":"webrtc-close","cid":"` + strings.ToUpper(testCID) + `"}`, wantErr: "cid"},
		"cid short":              {typ: typeClose, payload: `{"type":"webrtc-close","cid":"abc"}`, wantErr: "cid"},
		"cid not a string":       {typ: typeClose, payload: `{"type":"webrtc-close","cid":7}`, wantErr: "does not decode"},
		"offer without sdp":      {typ: typeOffer, payload: `{"type":"webrtc-offer","cid":"` + testCID + `"}`, wantErr: "without an sdp"},
		"sdp too large":          {typ: typeAnswer, payload: `{"type":"webrtc-answer","cid":"` + testCID + `","sdp":"` + strings.Repeat("a", MaxSDP+1) + `"}`, wantErr: "sdp of"},
		"payload too large":      {typ: typeClose, payload: `{"type":"webrtc-close","cid":"` + testCID + `","x":"` + strings.Repeat("a", MaxSignalPayload) + `"}`, wantErr: "payload of"},
		"candidate missing":      {typ: typeCandidate, payload: `{"type":"webrtc-candidate","cid":"` + testCID + `"}`, wantErr: "without a candidate"},
		"candidate a string":     {typ: typeCandidate, payload: `{"type":"webrtc-candidate","cid":"` + testCID + `","candidate":"candidate:1"}`, wantErr: "does not decode"},
		"candidate too long":     {typ: typeCandidate, payload: `{"type":"webrtc-candidate","cid":"` + testCID + `","candidate":{"candidate":"` + strings.Repeat("a", 2000) + `"}}`, wantErr: "candidate of"},
		"sdpMid too long":        {typ: typeCandidate, payload: `{"type":"webrtc-candidate","cid":"` + testCID + `","candidate":{"candidate":"c","sdpMid":"` + strings.Repeat("a", 300) + `"}}`, wantErr: "sdpMid"},
		"sdpMLineIndex negative": {typ: typeCandidate, payload: `{"type":"webrtc-candidate","cid":"` + testCID + `","candidate":{"candidate":"c","sdpMLineIndex":-1}}`, wantErr: "does not decode"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m, err := decodeSignal(tc.typ, []byte(tc.payload))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("want it valid, got %v", err)
				}
				if m.Type != tc.typ || m.CID != testCID {
					t.Errorf("want type %q cid %q, got %+v", tc.typ, testCID, m)
				}
				return
			}
			if !errors.Is(err, ErrInvalidSignal) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("want ErrInvalidSignal saying %q, got %v", tc.wantErr, err)
			}
		})
	}
}

func TestDecodeSignalTruncatesALongCloseReason(t *testing.T) {
	m, err := decodeSignal(typeClose, []byte(`{"type":"webrtc-close","cid":"`+testCID+`","reason":"`+strings.Repeat("r", 5000)+`"}`))
	if err != nil || len(m.Reason) != maxShortField {
		t.Fatalf("want the reason cut to %d bytes, got %d (err %v)", maxShortField, len(m.Reason), err)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, m := range []message{
		{Type: typeOffer, CID: newCID(), SDP: "v=0\r\n", Restart: true},
		{Type: typeAnswer, CID: newCID(), SDP: "v=0\r\n"},
		{Type: typeClose, CID: newCID(), Reason: "closed"},
	} {
		b, err := m.encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeSignal(m.Type, b)
		if err != nil || got.Type != m.Type || got.CID != m.CID || got.SDP != m.SDP || got.Restart != m.Restart || got.Reason != m.Reason {
			t.Errorf("%s: want %+v back, got %+v (err %v)", m.Type, m, got, err)
		}
	}
}

// FuzzDecodeSignal feeds the decoder arbitrary types and payloads: it must
// never panic, and what it accepts must re-encode to something it accepts.
func FuzzDecodeSignal(f *testing.F) {
	for _, typ := range []string{typeOffer, typeAnswer, typeCandidate, typeClose} {
		f.Add(typ, []byte(`{"type":"`+typ+`","cid":"`+testCID+`","sdp":"v=0","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}`))
	}
	f.Add("webrtc-offer", []byte(`{"type":"webrtc-offer","cid":"`+testCID+`","sdp":"\u0000","restart":"yes"}`))
	f.Add("x", []byte{0xff, '{'})
	f.Fuzz(func(t *testing.T, typ string, payload []byte) {
		m, err := decodeSignal(typ, payload)
		if err != nil {
			if !errors.Is(err, ErrInvalidSignal) {
				t.Fatalf("error not wrapping ErrInvalidSignal: %v", err)
			}
			return
		}
		if !validCID(m.CID) || m.Type != typ || len(m.SDP) > MaxSDP {
			t.Fatalf("accepted a signal outside the bounds: %+v", m)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if _, err := decodeSignal(typ, b); err != nil {
			t.Fatalf("re-encoded signal refused: %v", err)
		}
	})
}
