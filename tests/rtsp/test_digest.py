import base64
import hashlib

import pytest

from shopwatch.rtsp.digest import AuthUnsupported, DigestSigner, parse_challenges


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


def fields(header):
    scheme, _, rest = header.partition(" ")
    return scheme, parse_challenges([header])[0].params


def test_rfc2617_digest_with_qop_auth_counts_nonces():
    auth = DigestSigner("Mufasa", "Circle Of Life")
    assert auth.authorization("GET", "/dir/index.html") is None
    rfc_example = (
        'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
        'opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    auth.challenge([rfc_example])
    first = fields(auth.authorization("GET", "/dir/index.html"))[1]
    second = fields(auth.authorization("GET", "/dir/index.html"))[1]
    assert (first["nc"], second["nc"], first["qop"]) == ("00000001", "00000002", "auth")
    ha1 = md5("Mufasa:testrealm@host.com:Circle Of Life")
    ha2 = md5("GET:/dir/index.html")
    expected = md5(f"{ha1}:{first['nonce']}:{first['nc']}:{first['cnonce']}:auth:{ha2}")
    assert first["response"] == expected
    assert first["opaque"] == "5ccc069c403ebaf9f0171e9517f40e41"


def test_digest_without_qop_as_rtsp_cameras_ask():
    auth = DigestSigner("admin", "pw")
    auth.challenge(['Basic realm="cam"', 'Digest realm="cam", nonce="abc"'])  # Digest preferred
    scheme, params = fields(auth.authorization("DESCRIBE", "rtsp://h/s"))
    assert scheme == "Digest" and "qop" not in params
    assert params["response"] == md5(f"{md5('admin:cam:pw')}:abc:{md5('DESCRIBE:rtsp://h/s')}")


def test_sha256_digest():
    auth = DigestSigner("u", "p")
    auth.challenge(['Digest realm="r", nonce="n", algorithm=SHA-256'])
    params = fields(auth.authorization("PUT", "/x"))[1]
    h = lambda t: hashlib.sha256(t.encode()).hexdigest()  # noqa: E731
    assert params["response"] == h(f"{h('u:r:p')}:n:{h('PUT:/x')}")


def test_basic():
    auth = DigestSigner("user", "pa:ss")
    auth.challenge(['Basic realm="shopwatch-sim"'])
    assert auth.authorization("OPTIONS", "*") == "Basic " + base64.b64encode(b"user:pa:ss").decode()


def test_unknown_scheme_is_refused_by_name():
    with pytest.raises(AuthUnsupported, match="found negotiate"):
        DigestSigner("u", "secretpw").challenge(["Negotiate abc"])
