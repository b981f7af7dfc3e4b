"""docs/your-own-dag.md runs as written: its Python examples print what their comments say, its commands exit 0."""

import pathlib
import shlex
import subprocess

from dags import pyramid_dag, write_dag
from pebble.cli import main

PAGE = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "your-own-dag.md").read_text()


def blocks(language):
    parts = PAGE.split("```")
    return [body.split("\n", 1)[1] for body in parts[1::2] if body.split("\n", 1)[0].strip() == language]


def test_the_page_is_linked_from_the_index():
    index = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "index.md").read_text()
    assert "](your-own-dag.md)" in index


def test_the_python_examples_print_what_their_comments_say(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    examples = [code for code in blocks("python") if "print(" in code]
    assert len(examples) == 2
    for code in examples:
        exec(code, {})
        printed = capsys.readouterr().out.splitlines()
        promised = [line.split("# ", 1)[1].strip() for line in code.splitlines() if line.startswith("print(")]
        assert printed == promised


def test_the_commands_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "graphs").mkdir()
    write_dag(pyramid_dag(2), tmp_path / "graphs" / "mydag.json")
    table = next(b for b in blocks("") if b.startswith("spec,M,variant,optimum"))
    (tmp_path / "graphs" / "mine.csv").write_text(table)
    commands = [line for block in blocks("sh") for line in block.splitlines() if line.strip()]
    assert len(commands) == 6
    for line in commands:
        if line.startswith("pebble "):
            code = main(shlex.split(line)[1:])
            out, err = capsys.readouterr()
            assert code == 0, f"{line!r} exited {code}: {err[-300:]}"
        else:
            subprocess.run(line, shell=True, check=True)
    assert (tmp_path / "mine.hdag").exists() and (tmp_path / "mine.csv").read_text().startswith("index,move")
