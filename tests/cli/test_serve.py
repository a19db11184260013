"""``shopwatch serve`` refuses to start, in one clear line, when the configured person model is not there."""

from pathlib import Path

from typer.testing import CliRunner

from shopwatch.cli.main import build_cli


def test_a_missing_person_model_is_a_start_up_error_naming_the_path(tmp_path: Path) -> None:
    model = tmp_path / "models" / "person.xml"
    config = tmp_path / "shopwatch.yaml"
    config.write_text(
        f"service: {{data_dir: {tmp_path / 'data'}}}\n"
        "api: {port: 0}\n"
        f"detect: {{model: {model}}}\n"
    )
    result = CliRunner().invoke(build_cli(), ["serve", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert f"person model not found: {model}" in " ".join(result.output.split())
