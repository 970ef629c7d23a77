package dptp

// INTRODUCE and INTRODUCE_ACK: a node hands a contact its signed
// introduction of a third node (proto/dptp.md §12). The introduction and the
// certificate travel as opaque bytes here; their format and verification are
// package introductions' business (chancrypt's introduction format).

// Commands of introductions.
const (
	// CmdIntroduce carries the sender's signed introduction of another node
	// and that node's certificate. Payload: Introduce; answered by
	// INTRODUCE_ACK once stored, or ERROR.
	CmdIntroduce = "INTRODUCE"
	// CmdIntroduceAck answers INTRODUCE: the introduction is stored.
	// Payload: IntroduceAck.
	CmdIntroduceAck = "INTRODUCE_ACK"
)

// Limits of introduction payloads.
const (
	// MaxIntroductionLen bounds an introduction's canonical bytes: two
	// node_ids, a fingerprint, two times and a signature of at most 1 KiB.
	MaxIntroductionLen = 2 << 10
	// MaxCertificateLen bounds a node certificate's DER (an RSA-4096
	// self-signed certificate is about 1.3 KiB).
	MaxCertificateLen = 8 << 10
)

// Introduce is the INTRODUCE payload.
type Introduce struct {
	RequestID string `json:"request_id"`
	// Introduction is the canonical introduction (standard base64 in JSON),
	// 1..MaxIntroductionLen bytes, by the sender.
	Introduction []byte `json:"introduction"`
	// SubjectCertificate is the introduced node's certificate DER (standard
	// base64 in JSON), 1..MaxCertificateLen bytes.
	SubjectCertificate []byte `json:"subject_certificate"`
}

// Command returns CmdIntroduce.
func (Introduce) Command() string { return CmdIntroduce }

// Validate checks the INTRODUCE fields.
func (p Introduce) Validate() error {
	const c = CmdIntroduce
	if err := checkID(c, "request_id", p.RequestID); err != nil {
		return err
	}
	if n := len(p.Introduction); n == 0 || n > MaxIntroductionLen {
		return fieldErr(c, "introduction", "want 1..%d bytes, got %d", MaxIntroductionLen, n)
	}
	if n := len(p.SubjectCertificate); n == 0 || n > MaxCertificateLen {
		return fieldErr(c, "subject_certificate", "want 1..%d bytes, got %d", MaxCertificateLen, n)
	}
	return nil
}

// IntroduceAck is the INTRODUCE_ACK payload: the INTRODUCE's request_id.
type IntroduceAck struct {
	RequestID string `json:"request_id"`
}

// Command returns CmdIntroduceAck.
func (IntroduceAck) Command() string { return CmdIntroduceAck }

// Validate checks the INTRODUCE_ACK fields.
func (p IntroduceAck) Validate() error { return checkID(CmdIntroduceAck, "request_id", p.RequestID) }

// Interface guards.
var (
	_ Payload = Introduce{}
	_ Payload = IntroduceAck{}
)
