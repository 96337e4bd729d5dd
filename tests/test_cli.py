import json
import subprocess
import sys

import pytest

from faceleak import cli


def test_data_summary_json(capsys):
    assert cli.main(["data", "summary", "--source", "compact", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source"] == "compact" and out["n_images"] == 2414
    assert len(out["listed_missing"]) == 18


def test_data_summary_text(capsys):
    assert cli.main(["data", "summary", "--source", "compact"]) == 0
    assert "files named in .info listings but missing: 18" in capsys.readouterr().out


def test_download_error_is_a_message_not_a_traceback(tmp_path, capsys):
    code = cli.main(["data", "download", str(tmp_path), "--url", (tmp_path / "nope.zip").as_uri()])
    err = capsys.readouterr().err
    assert code == 2 and "faceleak: error: Download of" in err and "Traceback" not in err


def test_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "faceleak", "--version"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.startswith("faceleak ")


def test_missing_command_is_usage_error():
    with pytest.raises(SystemExit) as exc:
        cli.main([])
    assert exc.value.code == 2
