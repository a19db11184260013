import typer
from typer.testing import CliRunner

from shopwatch.cli import talk
from shopwatch.sim.backchannel import BackchannelServer
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
