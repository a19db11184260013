import pytest

from shopwatch.core.config import CameraConfig
from shopwatch.talkback.target import TalkTarget, parse_target, target_for_camera


@pytest.mark.parametrize(
    ("url", "transport", "expected", "error"),
    [
        ("rtsp://a:pw@10.0.0.5:554/s", "tcp", TalkTarget("rtsp", "rtsp://a:pw@10.0.0.5:554/s"), None),
        ("rtsp://10.0.0.5/s", "udp", TalkTarget("rtsp", "rtsp://10.0.0.5/s", "udp"), None),
        ("isapi://a:pw@h:80/?channel=1", "tcp", TalkTarget("isapi", "isapi://a:pw@h:80/?channel=1"), None),
        ("dahua://a:pw@cam.local/", "tcp", TalkTarget("dahua", "dahua://a:pw@cam.local/"), None),
        ("http://a:pw@10.0.0.5/", "tcp", None, "expected an rtsp://, isapi:// or dahua:// URL"),
        ("rtsp:///nohost", "tcp", None, "expected a host"),
        ("rtsp://h:99999/", "tcp", None, "port number"),
        ("isapi://h/", "udp", None, "UDP is for rtsp://"),
    ],
)
def test_parse_target(url, transport, expected, error):
    if error:
        with pytest.raises(ValueError, match=error) as caught:
            parse_target(url, transport)
        assert "pw" not in str(caught.value)
    else:
        assert parse_target(url, transport) == expected


def test_target_never_shows_its_password():
    target = parse_target("rtsp://admin:s3cret@10.0.0.5/s")
    assert "s3cret" not in str(target) and "s3cret" not in repr(target)


def camera(**fields):
    base = {"id": "cam-1", "name": "Hotel 7", "grid": "g1", "host": "10.0.0.9",
            "credentials": {"username": "admin", "password": "pw123"}, "talkback": {"capable": True}}  # fmt: skip
    base.update(fields)
    return CameraConfig.model_validate(base)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"vendor": "hikvision", "onvif_port": 8080}, ("isapi", "isapi://admin:pw123@10.0.0.9:8080/?channel=1")),
        ({"vendor": "dahua", "transport": "udp"},
         ("rtsp", "rtsp://admin:pw123@10.0.0.9:554/cam/realmonitor?channel=1&subtype=1&unicast=true&proto=Onvif")),
        ({"vendor": "onvif", "streams": {"detect": "rtsp://10.0.0.9/sub"}}, ("rtsp", "rtsp://admin:pw123@10.0.0.9/sub")),
        ({"talkback": {"capable": True, "url": "dahua://10.0.0.9/?httptype=multipart"}},
         ("dahua", "dahua://admin:pw123@10.0.0.9/?httptype=multipart")),
        ({"talkback": {"capable": True, "url": "rtsp://u:own@10.0.0.9/x"}}, ("rtsp", "rtsp://u:own@10.0.0.9/x")),
        ({"vendor": "generic"}, None),  # no stream URL to open a backchannel on
        ({"vendor": "hikvision", "talkback": {"capable": False}}, None),
    ],
)  # fmt: skip
def test_target_for_camera(fields, expected):
    target = target_for_camera(camera(**fields))
    assert (None if target is None else (target.protocol, target.url)) == expected


def test_camera_transport_applies_to_rtsp_only():
    assert target_for_camera(camera(vendor="dahua", transport="udp")).transport == "udp"
    assert target_for_camera(camera(vendor="hikvision", transport="udp")).transport == "tcp"
