"""MkDocs hook: the pages generated at build time, and MathJax served from the site.

- ``cli-reference.md``: every command of ``sigprop`` and every option, walked from the parser
  that ``sigprop`` itself builds (:func:`sigprop.cli.app.build_parser`, which lists the command
  registry, plugins included), so the reference cannot drift from the command line.
- ``api/<module>.md``: one page per public module of ``sigprop/`` (every module whose dotted
  name has no part starting with ``_``), rendered by mkdocstrings from the docstrings; the nav
  entry "API reference" is replaced by these pages.
- ``assets/mathjax/``: MathJax 3 (``tex-chtml.js`` and its fonts), copied from the installed
  ``django-static-mathjax`` package (a plain static copy of MathJax, no Django needed), so that
  formulas render without a CDN.
"""
from __future__ import annotations

import argparse
import pkgutil
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

API_DIR = "api"
CLI_PAGE = "cli-reference.md"
MATHJAX_DIR = "assets/mathjax"
SUBPACKAGE_ORDER = ("core", "plotting", "rho", "model", "gap", "checkpoints", "lm", "sweep", "claims", "cli")


# --- the API reference -------------------------------------------------------------------

def public_modules() -> list[str]:
    """Every public module of sigprop, sub-packages before their modules, in layer order."""
    import sigprop

    names = ["sigprop"]
    for info in pkgutil.walk_packages(sigprop.__path__, "sigprop."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)

    def key(name: str) -> tuple:
        parts = name.split(".")
        top = parts[1] if len(parts) > 1 else ""
        rank = SUBPACKAGE_ORDER.index(top) if top in SUBPACKAGE_ORDER else (-1 if not top else len(SUBPACKAGE_ORDER))
        return (rank, len(parts) > 2, name)

    return sorted(names, key=key)


def _api_page(module: str) -> str:
    return f"# `{module}`\n\n::: {module}\n    options:\n      show_root_heading: false\n      heading_level: 2\n"


def _api_index(modules: list[str]) -> str:
    lines = ["# API reference", "",
             "Generated from the docstrings (NumPy style) of every public module of `sigprop/`. "
             "Formulas cite the numbered equations of the [theory](../theory.md).", ""]
    for module in modules:
        doc = __import__(module, fromlist=["_"]).__doc__ or ""
        summary = doc.strip().splitlines()[0] if doc.strip() else ""
        lines.append(f"- [`{module}`]({module}.md): {summary}")
    return "\n".join(lines) + "\n"


def _api_nav(modules: list[str]) -> list:
    nav: list[Any] = [{"Overview": f"{API_DIR}/index.md"}]
    groups: dict[str, list] = {}
    for module in modules:
        parts = module.split(".")
        if len(parts) == 1:
            nav.append({module: f"{API_DIR}/{module}.md"})
        else:
            groups.setdefault(f"sigprop.{parts[1]}", []).append({module: f"{API_DIR}/{module}.md"})
    for name, pages in groups.items():
        nav.append(pages[0] if len(pages) == 1 else {name: pages})
    return nav


# --- the command-line reference ----------------------------------------------------------

def _escape(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _option_rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        names = ", ".join(f"`{s}`" for s in action.option_strings) or f"`{action.dest}`"
        if action.choices is not None and not isinstance(action.choices, dict):
            value = " \\| ".join(f"`{c}`" for c in action.choices)
        elif action.nargs == 0:
            value = ""
        else:
            value = f"`{action.metavar or action.dest.upper()}`"
        default = action.default
        shown = "" if default in (None, False, argparse.SUPPRESS) or action.nargs == 0 else f"`{default}`"
        required = "yes" if action.required else ""
        help_text = "" if action.help in (None, argparse.SUPPRESS) else action.help
        if help_text and "%(" in help_text:
            try:
                help_text = help_text % {**vars(action), "prog": parser.prog}
            except (KeyError, TypeError, ValueError):
                pass
        rows.append(f"| {names} | {value} | {shown} | {required} | {_escape(help_text)} |")
    return rows


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _walk(parser: argparse.ArgumentParser, words: tuple[str, ...], out: list[str]) -> None:
    children = _subcommands(parser)
    if words:
        name = " ".join(words)
        out += [f"{'#' * min(len(words) + 1, 4)} `sigprop {name}`", ""]
        if parser.description:
            out += [_escape(parser.description), ""]
        out += ["```text", parser.format_usage().strip(), "```", ""]
        if not children:
            rows = _option_rows(parser)
            if rows:
                out += ["| option | value | default | required | meaning |", "|---|---|---|---|---|", *rows, ""]
    for word, child in children.items():
        _walk(child, words + (word,), out)


def cli_reference() -> str:
    """The command-line reference as Markdown, walked from ``sigprop``'s own parser."""
    from sigprop.cli.app import build_parser

    parser = build_parser(plugins=True)
    out = ["# Command-line reference", "",
           "Generated at build time from the parser `sigprop` builds from its command registry "
           "(`sigprop.cli.app.build_parser`, plugins included): every command and every option. "
           "How the command line is organised, and how to add a command: [the command line](cli.md); "
           "what it promises about ranges, refusals and interrupts: [the contract](contract.md).", "",
           "```text", parser.format_usage().strip(), "```", ""]
    _walk(parser, (), out)
    return "\n".join(out) + "\n"


# --- MathJax served from the site --------------------------------------------------------

def _mathjax_files(config: Any) -> list[File]:
    import mathjax  # the django-static-mathjax package: MathJax's static files, no Django import

    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    wanted = [es5 / "tex-chtml.js", *sorted((es5 / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))]
    return [File.generated(config, f"{MATHJAX_DIR}/{p.relative_to(es5).as_posix()}", abs_src_path=str(p))
            for p in wanted]


# --- the hooks -----------------------------------------------------------------------------

def on_config(config: Any) -> Any:
    modules = public_modules()
    for i, item in enumerate(config["nav"] or []):
        if isinstance(item, dict) and "API reference" in item:
            config["nav"][i] = {"API reference": _api_nav(modules)}
    return config


def on_files(files: Files, config: Any) -> Files:
    modules = public_modules()
    files.append(File.generated(config, f"{API_DIR}/index.md", content=_api_index(modules)))
    for module in modules:
        files.append(File.generated(config, f"{API_DIR}/{module}.md", content=_api_page(module)))
    files.append(File.generated(config, CLI_PAGE, content=cli_reference()))
    for f in _mathjax_files(config):
        files.append(f)
    return files
