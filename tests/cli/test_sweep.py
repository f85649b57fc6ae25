"""`sigprop sweep`: run, --status, --plot, and one-line refusals (in-process engine: --workers 0)."""
import json

import pytest

from sigprop import cli

SPEC = 'study = "profile"\n[args]\nd = 8\nT = 6\n[axes]\nm = [0.25, 0.5, 1.0]\nv = [0.1, 1.0]\n'


def code_of(argv):
    try:
        return cli.main(argv)
    except SystemExit as exc:            # argparse's own refusals
        return exc.code


def test_run_status_and_plot(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    store = tmp_path / "p.zarr"
    assert cli.main(["sweep", str(spec), "--store", str(store), "--workers", "0", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "# study = profile" in out and "done = 6" in out and "failed = 0" in out
    assert cli.main(["sweep", "--status", str(store), "--format", "json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert (res["done"], res["failed"], res["pending"], res["total"]) == (6, 0, 0, 6)
    assert res["failures"] == []
    assert "command" not in res and res["config"]["study"] == "profile"
    figure = str(tmp_path / "f.png")
    assert cli.main(["sweep", "--plot", "localization_peak", str(store), "--figure", figure]) == 0
    assert (tmp_path / "f.png").stat().st_size > 1000
    assert cli.main(["sweep", "--plot", "rho", "--store", str(store)]) == 0          # default figure path
    assert (tmp_path / "p-rho.png").stat().st_size > 1000


def test_failed_cells_give_exit_code_1_and_are_listed(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('study = "profile"\n[args]\nT = 6\nm = 0.5\n[axes]\nd = [1, 2]\nv = [0.0, 0.1]\n')
    store = tmp_path / "p.zarr"
    assert cli.main(["sweep", str(spec), "--store", str(store), "--workers", "0", "--no-progress"]) == 1
    capsys.readouterr()
    assert cli.main(["sweep", "--status", str(store)]) == 0
    out = capsys.readouterr().out
    assert "failed = 1" in out and "v must be 0 when d = 1" in out


@pytest.mark.parametrize("argv, words", [
    (["--plot", "nope", "STORE"], "argument --plot: must be a variable of the store"),
    (["SPEC"], "argument --store: required to run a sweep"),
    (["--status"], "argument --store: required"),
    (["NOFILE", "--store", "STORE"], "is not a file"),
    (["SPEC", "--store", "STORE", "--workers", "-1"], "argument --workers: must be an integer in [0, "),
    (["SPEC", "--store", "STORE", "--workers", "1", "--scheduler", "tcp://x:1"], "not allowed with"),
    (["SPEC", "--store", "STORE", "--figure", "f.png"], "argument --figure: only with --plot"),
    (["OTHER", "--store", "STORE"], "holds a different sweep (differs in args.T)"),
])
def test_bad_input_is_refused_in_one_line(tmp_path, capsys, argv, words):
    spec, other = tmp_path / "s.toml", tmp_path / "o.toml"
    spec.write_text(SPEC)
    other.write_text(SPEC.replace("T = 6", "T = 7"))
    store = tmp_path / "p.zarr"
    assert cli.main(["sweep", str(spec), "--store", str(store), "--workers", "0", "--no-progress"]) == 0
    capsys.readouterr()
    names = dict(SPEC=str(spec), OTHER=str(other), STORE=str(store), NOFILE=str(tmp_path / "no.toml"))
    assert code_of(["sweep"] + [names.get(x, x) for x in argv]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1, err
