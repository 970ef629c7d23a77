package dptp

import (
	"errors"
	"strings"
	"testing"
)

// TestValidateIntroduce checks the limits of INTRODUCE, named after what a
// hostile or broken peer would send.
func TestValidateIntroduce(t *testing.T) {
	t.Parallel()
	ok := samplePayloads()[CmdIntroduce].(Introduce)
	with := func(f func(*Introduce)) Introduce { p := ok; f(&p); return p }
	for name, tc := range map[string]struct {
		p       Introduce
		wantMsg string // "" means valid
	}{
		"valid":                       {p: ok},
		"no request_id":               {p: with(func(p *Introduce) { p.RequestID = "" }), wantMsg: "request_id"},
		"empty introduction":          {p: with(func(p *Introduce) { p.Introduction = nil }), wantMsg: "introduction"},
		"introduction over the limit": {p: with(func(p *Introduce) { p.Introduction = make([]byte, MaxIntroductionLen+1) }), wantMsg: "introduction"},
		"no subject certificate":      {p: with(func(p *Introduce) { p.SubjectCertificate = nil }), wantMsg: "subject_certificate"},
		"certificate over the limit":  {p: with(func(p *Introduce) { p.SubjectCertificate = make([]byte, MaxCertificateLen+1) }), wantMsg: "subject_certificate"},
		"introduction at the limit":   {p: with(func(p *Introduce) { p.Introduction = make([]byte, MaxIntroductionLen) })},
		"certificate at the limit":    {p: with(func(p *Introduce) { p.SubjectCertificate = make([]byte, MaxCertificateLen) })},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := tc.p.Validate()
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatalf("Validate: want no error, got %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidPayload) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("Validate: want ErrInvalidPayload about %q, got %v", tc.wantMsg, err)
			}
		})
	}
}
