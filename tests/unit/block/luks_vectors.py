#!/usr/bin/env python3
"""Expected values of test_luks.c, computed with OpenSSL's command line
(`openssl kdf`, `openssl enc`, `openssl dgst`) and, for XTS (which `openssl
enc` lacks), OpenSSL's EVP through python3-cryptography; Python only moves
bytes around. Regenerate the constants: `python3 luks_vectors.py`."""
import subprocess

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def ossl(*args, data=b""):
    return subprocess.run(["openssl"] + list(args), input=data, stdout=subprocess.PIPE, check=True).stdout


def sha256(data):
    return ossl("dgst", "-sha256", "-binary", data=data)


def key(n):
    return bytes((i * 7 + 3) & 0xff for i in range(n))


PLAIN = bytes((i * 13 + 5) & 0xff for i in range(1024))


def sectors(cipher, k, iv_of, first):
    out = b""
    for s in range(2):
        if "xts" in cipher:
            enc = Cipher(algorithms.AES(k), modes.XTS(iv_of(first + s))).encryptor()
            out += enc.update(PLAIN[s * 512:(s + 1) * 512]) + enc.finalize()
            continue
        out += ossl("enc", "-" + cipher, "-K", k.hex(), "-iv", iv_of(first + s).hex(), "-nopad", "-e",
                    data=PLAIN[s * 512:(s + 1) * 512])
    return out


def plain64(s):
    return s.to_bytes(8, "little") + bytes(8)


def essiv(k):
    hkey = sha256(k)
    return lambda s: ossl("enc", "-aes-256-ecb", "-K", hkey.hex(), "-nopad", "-e", data=plain64(s))


def c_hex(b):
    return "".join("\\x%02x" % x for x in b)


def main():
    for name, cipher, k, iv in [("xts256_plain64", "aes-256-xts", key(64), plain64),
                                ("xts128_plain64", "aes-128-xts", key(32), plain64),
                                ("cbc128_essiv", "aes-128-cbc", key(16), essiv(key(16))),
                                ("cbc192_plain64", "aes-192-cbc", key(24), plain64),
                                ("ecb256", "aes-256-ecb", key(32), None)]:
        if iv is None:
            ct = ossl("enc", "-" + cipher, "-K", k.hex(), "-nopad", "-e", data=PLAIN)
        else:
            ct = sectors(cipher, k, iv, 5)
        print('%s sha256(ciphertext of sectors 5-6) = "%s"' % (name, c_hex(sha256(ct))))
    for name, digest, pw, salt, it, n in [("sha256", "SHA256", "vessel", bytes(range(32)), 1000, 32),
                                          ("sha1", "SHA1", "password", b"salt", 2, 20),
                                          ("sha512", "SHA512", "pass", b"NaCl", 3, 64)]:
        out = ossl("kdf", "-binary", "-keylen", str(n), "-kdfopt", "digest:" + digest, "-kdfopt", "pass:" + pw,
                   "-kdfopt", "hexsalt:" + salt.hex(), "-kdfopt", "iter:%d" % it, "PBKDF2")
        print('pbkdf2 %s = "%s"' % (name, c_hex(out)))
    # Anti-forensic merge of 3 stripes of 40 bytes with sha256 diffusion.
    block, stripes = 40, 3
    material = bytes(((i * 11) + 1) & 0xff for i in range(block * stripes))
    acc = bytes(block)
    for i in range(stripes - 1):
        acc = bytes(a ^ b for a, b in zip(acc, material[i * block:(i + 1) * block]))
        out = b""
        for j in range(0, block, 32):
            out += sha256((j // 32).to_bytes(4, "big") + acc[j:j + 32])[:min(32, block - j)]
        acc = out
    merged = bytes(a ^ b for a, b in zip(acc, material[(stripes - 1) * block:]))
    print('af_merge(sha256, 3 x 40) = "%s"' % c_hex(merged))


if __name__ == "__main__":
    main()
