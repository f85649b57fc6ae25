"""`sigprop figures` redraws the figures of stored results (runs too long to repeat) with the rest."""
from sigprop_figures import SCRIPTS, lm_summary, nnt_training


def test_every_figure_script_runs_with_sigprop_figures():
    # softmax_map, lm_summary and the T = 500 trainability figure were once drawn only by hand
    assert {"softmax_map", "lm_summary", "nnt_training"} <= set(SCRIPTS)
    assert len(set(SCRIPTS)) == len(SCRIPTS)


def test_the_language_model_summary_is_redrawn(tmp_path):
    files = lm_summary.make(tmp_path)
    assert [f.name for f in files] == ["lm_summary.png", "lm_summary.pdf"]
    assert all(f.stat().st_size > 10_000 for f in files)


def test_the_stored_T500_runs_are_redrawn_unless_results_are_given(tmp_path):
    runs = nnt_training.stored_T500()
    assert runs["config"]["targets"] == list(nnt_training.T500_TARGETS)
    assert runs["config"]["length"] == 500 and runs["config"]["seeds"] == [0, 1, 2, 3, 4]
    names = [f.name for f in nnt_training.make(tmp_path, quick=True)]
    assert names == ["nnt_training_T500.png", "nnt_training_T500.pdf", "nnt_training.png", "nnt_training.pdf"]
    (tmp_path / "given").mkdir()
    given = [f.name for f in nnt_training.make(tmp_path / "given", quick=True, result=runs)]
    assert given == ["nnt_training.png", "nnt_training.pdf"]


def test_the_T32_figure_reads_the_stored_full_run():
    # docs/figures/nnt_training.png is drawn from it by `sigprop figures` (computing it takes 8 CPU-minutes)
    run = nnt_training.stored_T32()
    assert run is not None and run["config"]["length"] == 32 and run["config"]["samples"] == 50
    assert len(run["records"]) == 4 * 4 * 3 * 5 and run["config"]["seeds"] == [0, 1, 2, 3, 4]


def test_the_gaussian_error_map_is_redrawn(tmp_path, monkeypatch):
    """docs/figures/gaussian_error_map.png: drawn from the stored map the auto rule reads."""
    from pathlib import Path

    import sigprop_results
    from matplotlib.figure import Figure

    from figures import SCRIPTS as checkout_scripts
    from figures import gaussian_error_map
    from tests.figures.readable import problems

    here = Path(__file__).resolve().parents[2] / "results"      # this checkout's stored results
    monkeypatch.setattr(sigprop_results, "folder", lambda name: here / name)
    assert "gaussian_error_map" in checkout_scripts
    found: list = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, f, *a, **k: (found.extend(problems(fig)),
                                                                      save(fig, f, *a, **k))[1])
    files = gaussian_error_map.make(tmp_path)
    assert found == []                                          # the readability rule
    assert [f.name for f in files] == ["gaussian_error_map.png", "gaussian_error_map.pdf"]
    assert all(f.stat().st_size > 10_000 for f in files)
