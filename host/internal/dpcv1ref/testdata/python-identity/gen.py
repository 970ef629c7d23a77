# Generates a D-PC identity exactly as dpc_protocol/crypto.py generate_identity (32-hex node_id),
# plus a HELLO nonce signature, for the dpcv1ref cross-check tests.
# Run in this directory with CPython 3.11.7 and cryptography 48.0.0: python3 gen.py
import hashlib, base64
from datetime import datetime, timedelta, timezone
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa, padding

def generate_node_id(pub):
    pem = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "dpc-node-" + hashlib.sha256(pem).hexdigest()[:32], pem

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
node_id, pem = generate_node_id(key.public_key())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_id)])
now = datetime.now(timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .not_valid_before(now).not_valid_after(now + timedelta(days=3650))
        .serial_number(x509.random_serial_number()).public_key(key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private_key=key, algorithm=hashes.SHA256()))
open("node.key", "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
open("node.crt", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open("node.id", "w").write(node_id)
open("public.pem", "wb").write(pem)
nonce = bytes(range(32))
sig = key.sign(nonce, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH), hashes.SHA256())
open("nonce.sig.b64", "w").write(base64.b64encode(sig).decode())
