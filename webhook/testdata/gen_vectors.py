#!/usr/bin/env python3
"""Writes vectors.json: known-answer signatures computed with Python's hmac
module, independently of the Go package. body_signature is the
X-ScanForge-Signature-256 value, keyed with the whole secret string as text.
Run from this directory:
    python3 gen_vectors.py > vectors.json
"""
import base64
import hashlib
import hmac
import json


def secret(raw: bytes) -> str:
    return "whsec_" + base64.b64encode(raw).decode()


def key(sec: str) -> bytes:
    return base64.b64decode(sec[len("whsec_"):], validate=True)


def vector(name, secrets, msg_id, ts, body):
    t = str(ts)
    b = body.encode()
    sf = ["t=" + t]
    std = []
    for s in secrets:
        k = key(s)
        sf.append("v1=" + hmac.new(k, t.encode() + b"." + b, hashlib.sha256).hexdigest())
        d = hmac.new(k, msg_id.encode() + b"." + t.encode() + b"." + b, hashlib.sha256).digest()
        std.append("v1," + base64.b64encode(d).decode())
    return {
        "name": name,
        "secrets": secrets,
        "msg_id": msg_id,
        "timestamp": ts,
        "body": body,
        "scanforge_signature": ",".join(sf),
        "webhook_signature": " ".join(std),
        "body_signature": ", ".join(
            "sha256=" + hmac.new(s.encode(), b, hashlib.sha256).hexdigest() for s in secrets),
    }


scan = json.dumps({
    "id": "evt_01JGZ8Q4M7X2", "type": "scan.created", "api_version": "2026-11-01",
    "created_at": "2026-01-01T00:00:00Z",
    "data": {"scan_id": "scn_1", "code": {"id": "cod_1", "slug": "menu", "name": "Menu"},
             "timestamp": "2026-01-01T00:00:00Z", "source": "qr",
             "bot": {"is_bot": False}},
}, separators=(",", ":"))

old = secret(hashlib.sha256(b"scanforge rotation old").digest())
new = secret(hashlib.sha256(b"scanforge rotation new").digest())

vectors = [
    vector("scan.created", [secret(bytes(range(32)))], "msg_2yqR0w8C1T3mYkqP", 1767225600, scan),
    vector("empty body, 24-byte secret", [secret(b"\xa5" * 24)], "msg_empty", 1700000000, ""),
    vector("unicode and newline", [secret(hashlib.sha256(b"scanforge vector 3").digest())],
           "msg_unicode", 1800000000, '{"city":"Z\u00fcrich","note":"\U0001F680"}\n'),
    vector("rotation: old and new secret", [old, new], "msg_rotation", 1767225600, scan),
    # The Standard Webhooks spec's published example; webhook_signature must be
    # v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
    vector("standard webhooks spec example", ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
           "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'),
]
# GitHub's published example of X-Hub-Signature-256 (secret "It's a Secret to
# Everybody", body "Hello, World!"), computed the same way as body_signature.
assert "sha256=" + hmac.new(b"It's a Secret to Everybody", b"Hello, World!", hashlib.sha256).hexdigest() == \
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
assert vectors[-1]["webhook_signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
print(json.dumps(vectors, indent=2, ensure_ascii=False))
