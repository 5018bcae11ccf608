#!/usr/bin/env python3
"""Known-answer values for tests/mobilebackup2/crypto_test.c.

The expected keys are computed here with Python's hashlib, an
implementation independent of ibackup's OpenSSL code, and pasted into the
test as constants: the test never derives its expected values from the
code under test. Run it and compare with the constants when changing a
vector:  python3 tests/mobilebackup2/gen_crypto_vectors.py

The last vector uses the public pyiosbackup test fixture's facts
(password "0000", all-zero SALT and DPSL, ITER 10000, DPIC 10,000,000); it
takes a few seconds. If the `cryptography` module is installed it also
checks that the fixture's WPKY unwraps to 32 zero bytes under that key.
"""
import hashlib


def c_bytes(b):
    return ", ".join("0x%02x" % x for x in b)


def password_key(pw, salt, iterations, dpsl=None, dpic=0):
    """k1 = PBKDF2-SHA256(pw, DPSL, DPIC) when DPSL/DPIC exist, then
    key = PBKDF2-SHA1(k1 or pw, SALT, ITER); 32 bytes each."""
    if dpsl is not None:
        pw = hashlib.pbkdf2_hmac("sha256", pw, dpsl, dpic, 32)
    return hashlib.pbkdf2_hmac("sha1", pw, salt, iterations, 32)


VECTORS = [
    # name, password, SALT, ITER, DPSL, DPIC
    ("legacy", b"ibackup legacy", bytes(range(1, 21)), 10000, None, 0),
    ("two_round", b"correct horse battery staple", bytes(range(0x40, 0x54)),
     10000, bytes(range(0x20, 0x34)), 1000),
    ("utf8_one_iter", "p\u00e4ssw\u00f6rd\u2603".encode(), bytes(20), 1,
     bytes([0xff] * 20), 1),
    ("empty_password", b"", bytes(range(20, 0, -1)), 1, None, 0),
    ("pyiosbackup_fixture", b"0000", bytes(20), 10000, bytes(20), 10000000),
]


def main():
    for name, pw, salt, it, dpsl, dpic in VECTORS:
        key = password_key(pw, salt, it, dpsl, dpic)
        print("/* %s */" % name)
        print("static const uint8_t kat_%s[32] = { %s };" % (name, c_bytes(key)))
        if name == "pyiosbackup_fixture":
            check_fixture(key)


def check_fixture(key):
    try:
        from cryptography.hazmat.primitives.keywrap import aes_key_unwrap
    except ImportError:
        print("/* cryptography not installed: fixture unwrap not checked */")
        return
    wpky = bytes.fromhex("528c9c5171bf8bef1ea397cf29d2a838c90529df02a6ad2f"
                         "823a1c6f3a5b2040e2a309c520c6a2ab")
    assert aes_key_unwrap(key, wpky) == bytes(32)
    print("/* fixture WPKY unwraps to 32 zero bytes under this key: checked */")


if __name__ == "__main__":
    main()
