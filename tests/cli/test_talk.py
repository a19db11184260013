import typer
from typer.testing import CliRunner

from shopwatch.cli import talk
from shopwatch.sim.backchannel import BackchannelServer
from shopwatch.sim.dahua import FakeDahua
from shopwatch.sim.isapi import FakeIsapi


def app() -> typer.Typer:
    cli = typer.Typer()
    talk.register(cli)
    cli.command("noop")(lambda: None)  # a second command keeps "talk" a subcommand, as in the real CLI
    return cli


def test_tone_through_the_backchannel_prints_what_happened():
    with BackchannelServer() as peer:
        result = CliRunner().invoke(app(), ["talk", peer.url("pcma"), "--tone", "1000", "--seconds", "0.5"])
    assert result.exit_code == 0, result.output
    assert "codec PCMA, 25 packets (4000 bytes), played 0.5" in result.output


def test_failure_is_a_redacted_message_and_exit_status_1():
    with FakeIsapi() as dev:
        result = CliRunner().invoke(app(), ["talk", dev.url(password="topsecret9"), "--tone", "440"])
    assert result.exit_code == 1
    assert "TalkbackAuthError" in result.output and "topsecret9" not in result.output


def test_exactly_one_source():
    result = CliRunner().invoke(app(), ["talk", "rtsp://h/x", "--tone", "440", "--say", "hi"])
    assert result.exit_code == 2 and "exactly one" in result.output


def test_probe_of_a_backchannel_prints_the_offer_and_the_profile_and_plays_nothing():
    with BackchannelServer() as peer:
        result = CliRunner().invoke(app(), ["talk", "--probe", peer.url("pcma")])
        assert "SETUP" not in peer.requests() and not any(r.pcm for r in peer.receptions())
    assert result.exit_code == 0, result.output
    assert "can talk" in result.output and "PCMA/8000" in result.output
    assert "codec:     PCMA" in result.output
    assert "160-byte packets (20 ms), marker talkspurt (standard)" in result.output
    assert "drain:     1 s after the last frame" in result.output


def test_probe_names_a_custom_profile_and_a_stream_without_backchannel():
    with BackchannelServer() as peer:
        shaped = CliRunner().invoke(
            app(), ["talk", "--probe", peer.url("pcmu"), "--packet-bytes", "1024", "--marker", "every"]
        )
        none = CliRunner().invoke(app(), ["talk", "--probe", peer.url("nobc")])
    assert shaped.exit_code == 0 and "1024-byte packets (128 ms), marker every" in shaped.output
    assert none.exit_code == 1 and "cannot talk" in none.output


def test_probe_of_isapi_and_dahua_opens_nothing():
    with FakeIsapi(codec="G.711alaw") as dev:
        result = CliRunner().invoke(app(), ["talk", "--probe", dev.url()])
        assert not any("/open" in call for call in dev.calls) and not dev.uploads
    assert result.exit_code == 0, result.output
    assert "channel 1: G.711alaw" in result.output and "codec:     PCMA" in result.output
    with FakeDahua() as dev:
        result = CliRunner().invoke(app(), ["talk", "--probe", dev.url()])
        assert not dev.uploads
    assert result.exit_code == 0 and "IPC-HDW2431T" in result.output
    with FakeIsapi() as dev:
        result = CliRunner().invoke(app(), ["talk", "--probe", dev.url(password="topsecret9")])
    assert result.exit_code == 1 and "could not tell" in result.output and "topsecret9" not in result.output
