"""Every ``vtscale`` command's --help: its own usage line, a help text for each option,
and the ``--log FILE`` option the command line adds to every command."""

from __future__ import annotations

import argparse

import pytest

from vtscale import cli
from vtscale.eval import run

class Captured(Exception):
    """Raised in place of parsing, carrying the parser a command built."""


def command_parser(name: str, monkeypatch) -> argparse.ArgumentParser:
    def capture(self, args=None, namespace=None):
        raise Captured(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", capture)
    with pytest.raises(Captured) as caught:
        cli.entry_point(name)(["--help"])
    return caught.value.args[0]


def help_text(name: str, capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        cli.main([name, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_help_shows_the_commands_own_usage_and_the_log_option(name, capsys):
    text = help_text(name, capsys)
    assert text.startswith(f"usage: vtscale {name} ")
    assert "--log FILE" in text


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_every_option_has_a_help_text(name, monkeypatch):
    parser = command_parser(name, monkeypatch)
    assert parser.prog == f"vtscale {name}"
    bare = [action.option_strings[0] if action.option_strings else action.dest
            for action in parser._actions if not action.help]
    assert not bare, f"vtscale {name}: no help text for {', '.join(bare)}"


def test_top_level_help_lists_log_and_says_what_eval_does(capsys):
    assert cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "--log FILE" in text
    eval_line = next(line for line in text.splitlines() if line.strip().startswith("eval "))
    assert "every configured benchmark" in eval_line
    assert "every configured benchmark" in run.__doc__.splitlines()[0]

