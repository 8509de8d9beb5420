"""gi-parity's command line without the authors' checkouts: clear errors, nothing written."""

import pytest
from absl import flags

from gi_tf.cli import parity


def parse(argv):
    flag_values = flags.FlagValues()
    parity.define_flags(flag_values)
    flag_values(["gi-parity"] + argv)
    return flag_values


def test_missing_checkouts_are_one_clear_error(tmp_path):
    out = tmp_path / "fixture.json"
    flag_values = parse([f"--original={tmp_path / 'nowhere'}", f"--fixture_out={out}"])
    with pytest.raises(SystemExit) as raised:
        parity.main(["gi-parity"], flag_values)
    message = str(raised.value.code)
    assert message.startswith("gi-parity: error: --original=")
    assert "no such directory" in message and "--neuralgym is required" in message
    assert not out.exists()


def test_sections_flag():
    assert parse([]).sections == list(parity.SECTIONS)
    assert parse(["--sections=training", "--sections=attention"]).sections == [
        "training", "attention"]
    with pytest.raises(flags.IllegalFlagValueError):
        parse(["--sections=everything"])
