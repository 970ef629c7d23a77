package chancrypt

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/dpc-go/dpc/host/internal/channels/canon"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/sdk/nodeid"
)

const (
	// introductionVersion is the only format version of an introduction.
	introductionVersion = 1
	// MaxSignatureSize bounds an introduction's signature (RSA-4096 is 512 bytes).
	MaxSignatureSize = 1024
	// FingerprintSize is the size of a certificate fingerprint.
	FingerprintSize = sha256.Size
	// MaxClockSkew is how far in the future an introduction may be dated
	// and still verify (the voucher's clock may run ahead of ours).
	MaxClockSkew = 5 * time.Minute
)

// introductionContext starts the message an introduction's signature covers.
const introductionContext = "dpc-introduction/v1\x00"

// Introduction is node Voucher's signed statement that it vouches for node
// Subject, whose certificate DER hashes (SHA-256) to SubjectCert. Times are
// Unix milliseconds; ExpiresMs = 0 means it does not expire.
type Introduction struct {
	Voucher     string
	Subject     string
	SubjectCert [FingerprintSize]byte
	IssuedMs    int64
	ExpiresMs   int64
	Signature   []byte
}

// CertificateFingerprint is the SHA-256 of a certificate's DER bytes, as
// `openssl x509 -fingerprint -sha256` prints it.
func CertificateFingerprint(certDER []byte) [FingerprintSize]byte {
	return sha256.Sum256(certDER)
}

// Issued returns the time the introduction was made.
func (in *Introduction) Issued() time.Time { return time.UnixMilli(in.IssuedMs) }

// Expires returns the expiry and whether there is one.
func (in *Introduction) Expires() (time.Time, bool) {
	return time.UnixMilli(in.ExpiresMs), in.ExpiresMs != 0
}

// checkStatement checks the fields a statement must satisfy, on the way in
// and on the way out.
func (in *Introduction) checkStatement() error {
	if err := checkNodeID("voucher", in.Voucher); err != nil {
		return fmt.Errorf("%w: %w", ErrBadIntroduction, err)
	}
	if err := checkNodeID("subject", in.Subject); err != nil {
		return fmt.Errorf("%w: %w", ErrBadIntroduction, err)
	}
	if in.Voucher == in.Subject {
		return fmt.Errorf("%w: %s vouches for itself", ErrBadIntroduction, in.Voucher)
	}
	if in.IssuedMs <= 0 {
		return fmt.Errorf("%w: issue time %d ms is not after 1970", ErrBadIntroduction, in.IssuedMs)
	}
	if in.ExpiresMs != 0 && in.ExpiresMs <= in.IssuedMs {
		return fmt.Errorf("%w: expiry %d ms is not after the issue time %d ms", ErrBadIntroduction, in.ExpiresMs, in.IssuedMs)
	}
	return nil
}

// statement returns the canonical statement bytes (everything but the signature).
func (in *Introduction) statement() []byte {
	b := make([]byte, 0, 1+2*(1+MaxNodeIDSize)+FingerprintSize+16)
	b = append(b, introductionVersion)
	b = canon.AppendBytes(b, []byte(in.Voucher))
	b = canon.AppendBytes(b, []byte(in.Subject))
	b = append(b, in.SubjectCert[:]...)
	b = canon.AppendUint64(b, uint64(in.IssuedMs))
	b = canon.AppendUint64(b, uint64(in.ExpiresMs))
	return b
}

// signedMessage is what the voucher's node key signs.
func (in *Introduction) signedMessage() []byte {
	st := in.statement()
	msg := make([]byte, 0, len(introductionContext)+len(st))
	msg = append(msg, introductionContext...)
	return append(msg, st...)
}

// SignIntroduction makes node signer's introduction of subject (node_id)
// whose certificate DER is subjectCertDER, issued at issued, expiring at
// expires (the zero time: never). Times are kept to the millisecond.
func SignIntroduction(signer crypto.Signer, subject string, subjectCertDER []byte, issued, expires time.Time) (*Introduction, error) {
	voucher, err := nodeid.FromPublicKey(signer.Public())
	if err != nil {
		return nil, fmt.Errorf("sign introduction: %w", err)
	}
	in := &Introduction{
		Voucher:     voucher,
		Subject:     subject,
		SubjectCert: CertificateFingerprint(subjectCertDER),
		IssuedMs:    issued.UnixMilli(),
	}
	if !expires.IsZero() {
		in.ExpiresMs = expires.UnixMilli()
	}
	if err := in.checkStatement(); err != nil {
		return nil, fmt.Errorf("sign introduction: %w", err)
	}
	sig, _, err := identity.SignMessage(signer, in.signedMessage())
	if err != nil {
		return nil, fmt.Errorf("sign introduction: %w", err)
	}
	in.Signature = sig
	return in, nil
}

// Verify checks the introduction against the voucher's node public key at
// time now: the voucher's node_id derives from voucherKey, the signature
// verifies, it has not expired and is not dated more than MaxClockSkew
// after now.
func (in *Introduction) Verify(voucherKey crypto.PublicKey, now time.Time) error {
	if err := in.checkStatement(); err != nil {
		return fmt.Errorf("verify introduction: %w", err)
	}
	got, err := nodeid.FromPublicKey(voucherKey)
	if err != nil {
		return fmt.Errorf("verify introduction: %w", err)
	}
	if got != in.Voucher {
		return fmt.Errorf("verify introduction: %w: the introduction is by %s, the key is %s's", identity.ErrNodeIDMismatch, in.Voucher, got)
	}
	if err := nodeid.VerifyMessage(voucherKey, in.signedMessage(), in.Signature); err != nil {
		return fmt.Errorf("verify introduction by %s: %w", in.Voucher, err)
	}
	nowMs := now.UnixMilli()
	if in.IssuedMs > nowMs+MaxClockSkew.Milliseconds() {
		return fmt.Errorf("verify introduction by %s: %w: issued %s, more than %s after now (%s); check both clocks",
			in.Voucher, ErrIntroductionFuture, in.Issued().UTC().Format(time.RFC3339), MaxClockSkew, now.UTC().Format(time.RFC3339))
	}
	if in.ExpiresMs != 0 && nowMs >= in.ExpiresMs {
		exp, _ := in.Expires()
		return fmt.Errorf("verify introduction by %s: %w at %s; ask %s for a new one",
			in.Voucher, ErrIntroductionExpired, exp.UTC().Format(time.RFC3339), in.Voucher)
	}
	return nil
}

// VouchesFor checks that the introduction is about the node whose
// certificate is cert: its node_id (derived from the certificate's key, not
// its CN) is Subject and its DER hashes to SubjectCert. It does not verify
// the signature (Verify does).
func (in *Introduction) VouchesFor(cert *x509.Certificate) error {
	id, err := nodeid.FromCertificate(cert)
	if err != nil {
		return fmt.Errorf("introduction subject: %w", err)
	}
	if id != in.Subject {
		return fmt.Errorf("introduction subject: %w: it vouches for %s, the certificate is %s's", identity.ErrNodeIDMismatch, in.Subject, id)
	}
	if CertificateFingerprint(cert.Raw) != in.SubjectCert {
		return fmt.Errorf("introduction subject: %w: %s's certificate is not the one %s vouched for; ask %s for a new introduction", ErrCertificateMismatch, id, in.Voucher, in.Voucher)
	}
	return nil
}

// Encode returns the canonical bytes: statement || uvarint(len sig) || sig.
func (in *Introduction) Encode() []byte {
	return canon.AppendBytes(in.statement(), in.Signature)
}

// DecodeIntroduction parses canonical introduction bytes strictly: unknown
// version, non-minimal varints, invalid node_ids, lengths beyond the limits,
// inconsistent times, a missing signature and trailing bytes are errors.
// It does not verify the signature (Verify does).
func DecodeIntroduction(b []byte) (*Introduction, error) {
	r := canon.NewReader(b, func(err error) error { return fmt.Errorf("%w: %w", ErrBadIntroduction, err) })
	var in Introduction
	if v := r.Byte("version"); r.Err() == nil && v != introductionVersion {
		return nil, fmt.Errorf("%w: version %d, this node knows %d", ErrBadIntroduction, v, introductionVersion)
	}
	in.Voucher = string(r.Bytes(MaxNodeIDSize, "voucher node_id"))
	in.Subject = string(r.Bytes(MaxNodeIDSize, "subject node_id"))
	copy(in.SubjectCert[:], r.Fixed(FingerprintSize, "certificate fingerprint"))
	in.IssuedMs = int64(r.Uint64("issue time"))
	in.ExpiresMs = int64(r.Uint64("expiry"))
	in.Signature = bytes.Clone(r.Bytes(MaxSignatureSize, "signature"))
	if err := r.Err(); err != nil {
		return nil, err
	}
	if len(in.Signature) == 0 {
		return nil, fmt.Errorf("%w: no signature", ErrBadIntroduction)
	}
	if err := r.End(); err != nil {
		return nil, err
	}
	if err := in.checkStatement(); err != nil {
		return nil, err
	}
	return &in, nil
}
