"""The ``explore`` command: a local interactive page (Bokeh server) over the closed forms.

``sigprop explore [--port N] [--no-browser] [--mean M --var V --dim D --length T --data MODEL
--method METHOD]`` serves :mod:`sigprop.explore.page` at ``http://localhost:N/`` until Ctrl-C
(``sigprop explore: interrupted``, exit code 130; SIGTERM: ``terminated``, 143);
the model flags set the sliders' starting values (checked by the API before the server starts).
Needs the optional extra ``explore`` (Bokeh).  Documented in docs/explore.md.
"""
from __future__ import annotations

import argparse

from sigprop.cli import arguments
from sigprop.cli.app import UsageError, command

DATA = ("random-walk", "iid", "ar1", "fbm")           # sigprop.explore.compute.DATA (a test checks)
METHODS = ("gaussian", "exact", "softmax")            # sigprop.explore.compute.METHODS


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=arguments.number(int), default=5006,
                   help="port on localhost (1..65535, default 5006)")
    p.add_argument("--no-browser", action="store_true", help="serve without opening a browser")
    g = p.add_argument_group("starting values of the sliders")
    g.add_argument("--mean", type=arguments.number(float), default=0.5, help="eigenvalue mean m (default 0.5)")
    g.add_argument("--var", type=arguments.number(float), default=0.1, help="eigenvalue variance v >= 0 (default 0.1)")
    g.add_argument("--dim", type=arguments.number(int), default=64, help="dimension d >= 1 (default 64)")
    g.add_argument("--length", type=arguments.number(int), default=64, help="length T >= 2 (default 64)")
    g.add_argument("--data", choices=DATA, default="random-walk", help="data model (default random-walk)")
    g.add_argument("--method", choices=METHODS, default="gaussian", help="method (default gaussian)")


@command("explore", help="interactive page: move m, v, d, T and watch the profile (Bokeh server)",
         description="Serve a local interactive page with sliders for m, v, d and T, the data model and the "
                     "method (Gaussian, exact, softmax): the profile, the Gaussian-versus-exact difference, the "
                     "localization metrics and, on request, a Monte Carlo band (docs/explore.md). Needs "
                     "pip install 'sigprop[explore]'.",
         arguments=_arguments, out=None, formats=("table", "json"),
         flags={"port": "--port", "m": "--mean", "v": "--var", "d": "--dim", "T": "--length",
                "data": "--data", "method": "--method"})
def explore(args: argparse.Namespace) -> dict:
    """Check the flags, then serve the page until Ctrl-C or SIGTERM (which end the command as every
    command: one line, exit code 130 or 143); returns the address and ``stopped`` should the server's
    loop stop otherwise."""
    from sigprop.core.checks import ArgumentError
    from sigprop.explore import compute, page

    if not 1 <= args.port <= 65535:
        raise ArgumentError("port", f"must be in 1..65535, got {args.port}")
    if not page.bokeh_available():
        raise UsageError(page.INSTALL)
    state = compute.State(m=args.mean, v=args.var, d=args.dim, T=args.length, data=args.data, method=args.method)
    compute.gaussian(state)                          # the API checks the starting values
    # until Ctrl-C (`sigprop explore: interrupted`, exit code 130) or SIGTERM (`terminated`, 143),
    # as every command; a port in use is refused before serving (ArgumentError naming --port)
    page.serve(args.port, show=not args.no_browser, initial=state)
    return dict(url=f"http://localhost:{args.port}/", status="stopped")
