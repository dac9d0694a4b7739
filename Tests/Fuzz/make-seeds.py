#!/usr/bin/env python3
"""make-seeds.py OUTDIR — write the seed corpus for the libFuzzer targets in Tests/Fuzz.

Writes OUTDIR/envelope/, OUTDIR/keystore/ and OUTDIR/keys/ (one file per seed). Everything is built here with
pyca/cryptography from docs/FORMAT.md, independently of the Swift code, under the fixed keys FuzzSupport.swift
defines (KEK 32 x 0x4B; keyring versions 1 retired 0x11.., 2 active primary 0x22.., 3 destroyed, 4 active 0x44..;
AES-GCM box key 32 x 0x5A). Every sealed plaintext starts with b"FUZZSEED" (the harnesses' forgery check).
"""
import hashlib, os, struct, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MARK = b"FUZZSEED"
KEK = b"\x4b" * 32
KEYS = {1: b"\x11" * 32, 2: b"\x22" * 32, 4: b"\x44" * 32}
BOX_KEY = b"\x5a" * 32
CONTEXT = "fuzz-context"


def u32(v): return struct.pack(">I", v)
def u64(v): return struct.pack(">Q", v)


def envelope(version, key, context, plaintext, aad=b""):
    info = b"FIPSCrypto keyring envelope v1\x00" + u32(version) + context.encode()
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=info).derive(key)
    header = b"FCEv\x01" + u32(version) + hashlib.sha256(context.encode()).digest()[:4] + okm[32:]
    nonce = os.urandom(12)
    return header + nonce + AESGCM(okm[:32]).encrypt(nonce, plaintext, header + aad)


def serialized_keyring(entries=None, primary=2, min_dec=1, min_enc=2):
    if entries is None:
        entries = [(1, 1, KEYS[1]), (2, 0, KEYS[2]), (3, 2, None), (4, 0, KEYS[4])]
    b = bytes([1]) + u32(primary) + u32(min_dec) + u32(min_enc) + u32(len(entries))
    for v, state, key, *seals in entries:
        b += u32(v) + bytes([state]) + u64(1_700_000_000_000) + u64(seals[0] if seals else v * 10)
        b += (bytes([32]) + key) if key else b"\x00"
    return b


def keystore_file(plaintext, header=b"FCKs\x01\x01"):
    nonce = os.urandom(12)
    return header + nonce + AESGCM(KEK).encrypt(nonce, plaintext, header)


def write(directory, name, data):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def main(out):
    e = os.path.join(out, "envelope")
    for n in (0, 1, 100, 1000):
        write(e, f"v2-{n}", envelope(2, KEYS[2], CONTEXT, MARK + os.urandom(n)))
    write(e, "v4", envelope(4, KEYS[4], CONTEXT, MARK + b"version four"))
    write(e, "v1-retired", envelope(1, KEYS[1], CONTEXT, MARK))
    write(e, "v3-destroyed", envelope(3, os.urandom(32), CONTEXT, MARK))
    write(e, "v9-unknown", envelope(9, os.urandom(32), CONTEXT, MARK))
    write(e, "other-context", envelope(2, KEYS[2], "other-context", MARK))
    write(e, "with-aad", envelope(2, KEYS[2], CONTEXT, MARK, aad=b"\x01"))
    write(e, "other-keyring", envelope(2, os.urandom(32), CONTEXT, MARK))
    for name, data in {"empty": b"", "magic": b"FCEv", "version2": b"FCEv\x02" + bytes(68), "header-only": b"FCEv\x01" + u32(2) + bytes(36)}.items():
        write(e, name, data)

    k = os.path.join(out, "keystore")
    plain = serialized_keyring()
    write(k, "raw-valid", b"\x00" + keystore_file(plain))
    write(k, "raw-wrong-kek", b"\x00" + b"FCKs\x01\x01" + AESGCM(os.urandom(32)).encrypt(b"\x00" * 12, plain, b"FCKs\x01\x01"))
    write(k, "raw-passphrase-header", b"\x00" + b"FCKs\x01\x02" + u32(600_000) + bytes([32]) + os.urandom(32) + os.urandom(60))
    write(k, "raw-version2", b"\x00" + b"FCKs\x02\x01" + os.urandom(40))
    write(k, "raw-truncated", b"\x00" + b"FCKs\x01\x01" + os.urandom(10))
    write(k, "sealed-valid", b"\x01" + plain)
    write(k, "sealed-one-version", b"\x01" + serialized_keyring([(1, 0, KEYS[1])], primary=1, min_dec=1, min_enc=1))
    write(k, "sealed-seal-limit", b"\x01" + serialized_keyring([(1, 0, KEYS[1], 1 << 32)], primary=1, min_dec=1, min_enc=1))
    write(k, "sealed-empty", b"\x01")

    s = os.path.join(out, "keys")
    pem, der = serialization.Encoding.PEM, serialization.Encoding.DER
    pkcs8, trad = serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    none = serialization.NoEncryption()
    private_keys = {
        "p256": ec.generate_private_key(ec.SECP256R1()), "p384": ec.generate_private_key(ec.SECP384R1()),
        "p521": ec.generate_private_key(ec.SECP521R1()), "rsa2048": rsa.generate_private_key(65537, 2048),
        "k256": ec.generate_private_key(ec.SECP256K1()), "rsa1024": rsa.generate_private_key(65537, 1024),
    }
    for name, key in private_keys.items():
        write(s, f"0-{name}-pkcs8.pem", b"\x00" + key.private_bytes(pem, pkcs8, none))
        write(s, f"0-{name}-trad.pem", b"\x00" + key.private_bytes(pem, trad, none))
        write(s, f"1-{name}-pkcs8.der", b"\x01" + key.private_bytes(der, pkcs8, none))
        write(s, f"1-{name}-trad.der", b"\x01" + key.private_bytes(der, trad, none))
        write(s, f"2-{name}.der", b"\x02" + key.public_key().public_bytes(der, spki))
        write(s, f"3-{name}.pem", b"\x03" + key.public_key().public_bytes(pem, spki))
    ed = ed25519.Ed25519PrivateKey.generate()
    write(s, "1-ed25519.der", b"\x01" + ed.private_bytes(der, pkcs8, none))
    write(s, "2-ed25519.der", b"\x02" + ed.public_key().public_bytes(der, spki))
    enc = serialization.BestAvailableEncryption(b"passphrase")
    write(s, "0-p256-encrypted.pem", b"\x00" + private_keys["p256"].private_bytes(pem, pkcs8, enc))
    write(s, "1-p256-encrypted.der", b"\x01" + private_keys["p256"].private_bytes(der, pkcs8, enc))
    for n in (0, 1, 64):
        nonce = os.urandom(12)
        write(s, f"4-box-{n}", b"\x04" + nonce + AESGCM(BOX_KEY).encrypt(nonce, MARK + os.urandom(n), None))
    write(s, "4-short", b"\x04" + bytes(27))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make-seeds.py OUTDIR")
    main(sys.argv[1])
