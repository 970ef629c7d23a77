package chancrypt

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/identity"
)

var update = flag.Bool("update", false, "rewrite testdata/introduction-ed25519.hex")

// Fixture values computed with openssl (see testdata/README.md), not with this package.
const (
	fixtureVoucherID   = "dpc-node-def5338f7dafd13774844cffc69010f2"
	fixtureSubjectID   = "dpc-node-7998b1f1e663df91771aa5b0b85a24e2"
	fixtureSubjectCert = "727ad79a35e1c5005091e23594e2ea3e6d1ecd7c9863381583ee8f8ae85e6427"
)

var (
	fixtureIssued  = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	fixtureExpires = time.Date(2027, 12, 1, 0, 0, 0, 0, time.UTC)
)

func readPEM(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	return block.Bytes
}

func fixtureVoucher(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := x509.ParsePKCS8PrivateKey(readPEM(t, "voucher-ed25519.key"))
	if err != nil {
		t.Fatal(err)
	}
	return k.(crypto.Signer)
}

func fixtureSubject(t testing.TB) *x509.Certificate {
	t.Helper()
	cert, err := x509.ParseCertificate(readPEM(t, "subject-ed25519.crt"))
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// goldenIntroduction is the committed canonical encoding of the fixture
// introduction (Ed25519 signatures are deterministic).
func goldenIntroduction(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "introduction-ed25519.hex"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestIntroductionGolden pins the byte layout: the fixture introduction
// encodes to the committed bytes, whose statement is also rebuilt here by
// hand from the spec, and decodes, verifies and names the fixture subject.
func TestIntroductionGolden(t *testing.T) {
	voucher, subject := fixtureVoucher(t), fixtureSubject(t)
	in, err := SignIntroduction(voucher, fixtureSubjectID, subject.Raw, fixtureIssued, fixtureExpires)
	if err != nil {
		t.Fatal(err)
	}
	enc := in.Encode()
	path := filepath.Join("testdata", "introduction-ed25519.hex")
	if *update {
		if err := os.WriteFile(path, []byte(hex.EncodeToString(enc)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden := goldenIntroduction(t)
	if !bytes.Equal(enc, golden) {
		t.Fatalf("encoding differs from %s:\nwant %x\ngot  %x", path, golden, enc)
	}

	fp, _ := hex.DecodeString(fixtureSubjectCert)
	want := []byte{1, byte(len(fixtureVoucherID))}
	want = append(want, fixtureVoucherID...)
	want = append(want, byte(len(fixtureSubjectID)))
	want = append(want, fixtureSubjectID...)
	want = append(want, fp...)
	want = binary.BigEndian.AppendUint64(want, uint64(fixtureIssued.UnixMilli()))
	want = binary.BigEndian.AppendUint64(want, uint64(fixtureExpires.UnixMilli()))
	want = append(want, 64) // Ed25519 signature length
	if !bytes.HasPrefix(golden, want) || len(golden) != len(want)+64 {
		t.Fatalf("layout differs from the spec:\nwant %x || 64-byte signature\ngot  %x", want, golden)
	}

	dec, err := DecodeIntroduction(golden)
	if err != nil {
		t.Fatal(err)
	}
	if dec.Voucher != fixtureVoucherID || dec.Subject != fixtureSubjectID || hex.EncodeToString(dec.SubjectCert[:]) != fixtureSubjectCert {
		t.Fatalf("decoded fields differ: %+v", dec)
	}
	if err := dec.Verify(voucher.Public(), fixtureIssued.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := dec.VouchesFor(subject); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dec.Encode(), golden) {
		t.Fatal("Encode(Decode(golden)) != golden")
	}
}

// TestIntroductionVerify: the voucher's own key, an intact statement and a
// time inside [issued - MaxClockSkew, expires) are all required.
func TestIntroductionVerify(t *testing.T) {
	a, b, c, r := testIdentity(t, "a"), testIdentity(t, "b"), testIdentity(t, "c"), testIdentity(t, "rsa")
	issued := time.UnixMilli(1_800_000_000_000)
	expires := issued.Add(24 * time.Hour)
	sign := func(signer crypto.Signer, subject *identity.Identity, exp time.Time) *Introduction {
		t.Helper()
		in, err := SignIntroduction(signer, subject.NodeID, subject.Certificate.Raw, issued, exp)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	tamper := func(f func(*Introduction)) *Introduction {
		in := sign(a.Signer, b, expires)
		f(in)
		return in
	}
	// C signs a statement that claims to be A's.
	forged := func() *Introduction {
		in := sign(a.Signer, b, expires)
		sig, _, err := identity.SignMessage(c.Signer, in.signedMessage())
		if err != nil {
			t.Fatal(err)
		}
		in.Signature = sig
		return in
	}()
	cases := []struct {
		name string
		in   *Introduction
		key  crypto.PublicKey
		now  time.Time
		want error
	}{
		{"valid Ed25519", sign(a.Signer, b, expires), a.Signer.Public(), issued.Add(time.Hour), nil},
		{"valid RSA voucher", sign(r.Signer, b, expires), r.Signer.Public(), issued.Add(time.Hour), nil},
		{"valid without expiry, years later", sign(a.Signer, b, time.Time{}), a.Signer.Public(), issued.AddDate(10, 0, 0), nil},
		{"valid: dated within the clock skew ahead", sign(a.Signer, b, expires), a.Signer.Public(), issued.Add(-MaxClockSkew), nil},
		{"future-dated beyond the clock skew", sign(a.Signer, b, expires), a.Signer.Public(), issued.Add(-MaxClockSkew - time.Millisecond), ErrIntroductionFuture},
		{"expired", sign(a.Signer, b, expires), a.Signer.Public(), expires.Add(time.Millisecond), ErrIntroductionExpired},
		{"expired exactly at the expiry", sign(a.Signer, b, expires), a.Signer.Public(), expires, ErrIntroductionExpired},
		{"verified with another node's key", sign(a.Signer, b, expires), c.Signer.Public(), issued, identity.ErrNodeIDMismatch},
		{"signed by another node claiming to be the voucher", forged, a.Signer.Public(), issued, identity.ErrBadSignature},
		{"tampered subject", tamper(func(in *Introduction) { in.Subject = c.NodeID }), a.Signer.Public(), issued, identity.ErrBadSignature},
		{"tampered fingerprint", tamper(func(in *Introduction) { in.SubjectCert[0] ^= 1 }), a.Signer.Public(), issued, identity.ErrBadSignature},
		{"tampered issue time", tamper(func(in *Introduction) { in.IssuedMs-- }), a.Signer.Public(), issued, identity.ErrBadSignature},
		{"tampered expiry", tamper(func(in *Introduction) { in.ExpiresMs += 1000 }), a.Signer.Public(), issued, identity.ErrBadSignature},
		{"expiry removed", tamper(func(in *Introduction) { in.ExpiresMs = 0 }), a.Signer.Public(), issued, identity.ErrBadSignature},
		{"tampered voucher", tamper(func(in *Introduction) { in.Voucher = c.NodeID }), a.Signer.Public(), issued, identity.ErrNodeIDMismatch},
		{"signature truncated", tamper(func(in *Introduction) { in.Signature = in.Signature[:63] }), a.Signer.Public(), issued, identity.ErrBadSignature},
		{"self-vouch", tamper(func(in *Introduction) { in.Subject = in.Voucher }), a.Signer.Public(), issued, ErrBadIntroduction},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.in.Verify(tc.key, tc.now)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				back, err := DecodeIntroduction(tc.in.Encode())
				if err != nil {
					t.Fatalf("decode own encoding: %v", err)
				}
				if err := back.Verify(tc.key, tc.now); err != nil {
					t.Fatalf("decoded copy: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
		})
	}
}

// TestIntroductionSignatureIsDomainSeparated: the node key's signature over
// the same statement for another purpose (a plugin signature, no context)
// is not an introduction.
func TestIntroductionSignatureIsDomainSeparated(t *testing.T) {
	a, b := testIdentity(t, "a"), testIdentity(t, "b")
	in, err := SignIntroduction(a.Signer, b.NodeID, b.Certificate.Raw, time.UnixMilli(1_800_000_000_000), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	pluginSig, _, _, err := a.SignDomain("introduction", in.statement())
	if err != nil {
		t.Fatal(err)
	}
	rawSig, _, err := identity.SignMessage(a.Signer, in.statement())
	if err != nil {
		t.Fatal(err)
	}
	for name, sig := range map[string][]byte{"plugin signature": pluginSig, "no context": rawSig} {
		t.Run(name, func(t *testing.T) {
			in.Signature = sig
			if err := in.Verify(a.Signer.Public(), in.Issued()); !errors.Is(err, identity.ErrBadSignature) {
				t.Fatalf("want ErrBadSignature, got %v", err)
			}
		})
	}
}

func TestIntroductionVouchesFor(t *testing.T) {
	a, b, c := testIdentity(t, "a"), testIdentity(t, "b"), testIdentity(t, "c")
	in, err := SignIntroduction(a.Signer, b.NodeID, b.Certificate.Raw, time.UnixMilli(1_800_000_000_000), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.VouchesFor(b.Certificate); err != nil {
		t.Fatalf("B's own certificate: %v", err)
	}
	if err := in.VouchesFor(c.Certificate); !errors.Is(err, identity.ErrNodeIDMismatch) {
		t.Fatalf("C's certificate: want ErrNodeIDMismatch, got %v", err)
	}
	// Another certificate for B's key (same node_id) is not the one vouched for.
	other := *b.Certificate
	other.Raw = append(bytes.Clone(b.Certificate.Raw), 0)
	if err := in.VouchesFor(&other); !errors.Is(err, ErrCertificateMismatch) {
		t.Fatalf("other certificate of B: want ErrCertificateMismatch, got %v", err)
	}
}

func TestSignIntroductionRefuses(t *testing.T) {
	a, b := testIdentity(t, "a"), testIdentity(t, "b")
	issued := time.UnixMilli(1_800_000_000_000)
	cases := []struct {
		name            string
		subject         string
		issued, expires time.Time
	}{
		{"self-vouch", a.NodeID, issued, time.Time{}},
		{"subject not a node_id", "bob", issued, time.Time{}},
		{"expiry before the issue time", b.NodeID, issued, issued.Add(-time.Second)},
		{"expiry at the issue time", b.NodeID, issued, issued},
		{"issued before 1970", b.NodeID, time.UnixMilli(-1), time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := SignIntroduction(a.Signer, tc.subject, b.Certificate.Raw, tc.issued, tc.expires); !errors.Is(err, ErrBadIntroduction) {
				t.Fatalf("want ErrBadIntroduction, got %v", err)
			}
		})
	}
}

// TestDecodeIntroductionRefuses: the decoder accepts only canonical bytes.
func TestDecodeIntroductionRefuses(t *testing.T) {
	golden := goldenIntroduction(t)
	// Offsets in the golden encoding.
	const (
		voucherLen = 1
		subjectLen = voucherLen + 1 + len(fixtureVoucherID)
		fpAt       = subjectLen + 1 + len(fixtureSubjectID)
		issuedAt   = fpAt + FingerprintSize
		expiresAt  = issuedAt + 8
		sigLenAt   = expiresAt + 8
	)
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(golden)) }
	setTime := func(at int, ms int64) []byte {
		return edit(func(b []byte) []byte { binary.BigEndian.PutUint64(b[at:], uint64(ms)); return b })
	}
	splice := func(at, cut int, insert ...byte) []byte {
		return edit(func(b []byte) []byte {
			return append(append(append([]byte(nil), b[:at]...), insert...), b[at+cut:]...)
		})
	}
	cases := map[string][]byte{
		"empty":                           nil,
		"version 0":                       edit(func(b []byte) []byte { b[0] = 0; return b }),
		"version 2":                       edit(func(b []byte) []byte { b[0] = 2; return b }),
		"trailing byte":                   append(bytes.Clone(golden), 0),
		"non-minimal voucher length":      splice(voucherLen, 1, byte(len(fixtureVoucherID))|0x80, 0x00),
		"non-minimal signature length":    splice(sigLenAt, 1, 64|0x80, 0x00),
		"voucher length beyond the limit": splice(voucherLen, 1, MaxNodeIDSize+1),
		"voucher length overflowing":      splice(voucherLen, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
		"voucher not a node_id":           edit(func(b []byte) []byte { b[voucherLen+1] = 'D'; return b }),
		"self-vouch":                      splice(subjectLen+1, len(fixtureSubjectID), []byte(fixtureVoucherID)...),
		"issue time zero":                 setTime(issuedAt, 0),
		"issue time negative":             setTime(issuedAt, -5),
		"expiry equal to the issue time":  setTime(expiresAt, fixtureIssued.UnixMilli()),
		"expiry before the issue time":    setTime(expiresAt, fixtureIssued.UnixMilli()-1),
		"empty signature":                 append(bytes.Clone(golden[:sigLenAt]), 0),
		"signature beyond the limit":      append(append(bytes.Clone(golden[:sigLenAt]), 0x81, 0x08), make([]byte, MaxSignatureSize+1)...),
	}
	for i := range len(golden) {
		cases[fmt.Sprintf("truncated to %03d bytes", i)] = golden[:i]
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			in, err := DecodeIntroduction(b)
			if !errors.Is(err, ErrBadIntroduction) || in != nil {
				t.Fatalf("want ErrBadIntroduction, got %v", err)
			}
		})
	}
}
