"""The ``graphc`` command: draw, read and summarize compiled graphs.

    graphc viz     TARGET [-o graph.html]    the interactive viewer (or .svg/.png/.dot)
    graphc inspect TARGET                    generated code with line numbers, pass statistics
    graphc summary TARGET                    inputs, outputs, variables, node counts

TARGET is ``path/to/file.py:NAME`` (a Function, Tensor, Graph or Keras model
defined in that file; NAME may be dotted, e.g. ``model.predict_function``)
or a model file saved by ``model.save``.
"""
from __future__ import annotations

import argparse
import os
import runpy
import sys
import traceback

EXIT_USAGE = 2


class TargetError(Exception):
    """A TARGET that names nothing graphc can show (reported with exit code 2)."""


def _is_showable(obj) -> bool:
    from graphc.export import has_steps, resolve_function
    from graphc.graph import Graph, Tensor
    return isinstance(obj, (Tensor, Graph)) or has_steps(obj) or resolve_function(obj) is not None


def _ensure_function(obj, where: str):
    """A Keras model whose steps are not built yet gets them built, where it can."""
    from graphc.export import resolve_function
    from graphc.graph import Graph, Tensor
    if isinstance(obj, (Tensor, Graph)) or resolve_function(obj) is not None:
        return obj
    for maker in ("make_train_function", "make_predict_function"):
        method = getattr(obj, maker, None)
        if callable(method):
            try:
                method()
            except Exception:  # noqa: BLE001  (try the next way; the error below explains)
                continue
            if resolve_function(obj) is not None:
                return obj
    raise TargetError(f"{where} is a {type(obj).__name__} without a compiled step "
                      "(train_function/predict_function): compile the model and run fit or predict once")


def _load_from_file(path: str, name: str):
    if not os.path.isfile(path):
        raise TargetError(f"no such file: {path}")
    directory = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, directory)  # the file's own imports work as with `python file.py`
    try:
        namespace = runpy.run_path(path, run_name="__graphc_target__")
    except SystemExit as exc:
        raise TargetError(f"running {path} exited (code {exc.code}) before defining {name!r}") from None
    except Exception as exc:  # noqa: BLE001  (the user's code failed: show where, then say so)
        traceback.print_exc(file=sys.stderr)
        raise TargetError(f"running {path} failed: {type(exc).__name__}: {exc}") from None
    finally:
        if sys.path and sys.path[0] == directory:
            sys.path.pop(0)
    head, *rest = name.split(".")
    if head not in namespace:
        usable = sorted(k for k, v in namespace.items() if not k.startswith("_") and _safe_showable(v))
        hint = f"; it defines {', '.join(usable)}" if usable else "; it defines no Function, Tensor or model"
        raise TargetError(f"{path} defines no name {head!r}{hint}")
    obj = namespace[head]
    for attr in rest:
        if not hasattr(obj, attr):
            raise TargetError(f"{path}: {head!r} has no attribute {attr!r}")
        obj = getattr(obj, attr)
    if not _is_showable(obj):
        raise TargetError(f"{name!r} in {path} is a {type(obj).__name__}, not a Function, Tensor, Graph "
                          "or Keras model")
    return _ensure_function(obj, f"{name!r} in {path}")


def _safe_showable(value) -> bool:
    try:
        return _is_showable(value)
    except Exception:  # noqa: BLE001  (odd objects in a user's module)
        return False


def _load_saved_model(path: str):
    if not os.path.exists(path):
        raise TargetError(f"no such file: {path}")
    try:
        from graphc.keras.models import load_model
    except ImportError:
        raise TargetError(f"{path} is not a .py file, and this graphc cannot load saved models "
                          "(graphc.keras.models.load_model is missing); use FILE.py:NAME") from None
    try:
        model = load_model(path)
    except Exception as exc:  # noqa: BLE001  (any damage in the file is the user's to see)
        raise TargetError(f"cannot load a model from {path}: {exc}") from None
    return _ensure_function(model, f"the model in {path}")


def load_target(target: str):
    """The object TARGET names (see the module docstring); TargetError if there is none."""
    path, sep, name = target.rpartition(":")
    if sep and path and name and not os.path.isfile(target):
        if not path.endswith(".py") and not os.path.isfile(path):
            raise TargetError(f"no such file: {path}")
        return _load_from_file(path, name)
    if target.endswith(".py"):
        if not os.path.isfile(target):
            raise TargetError(f"no such file: {target}")
        raise TargetError(f"name what to show in {target}: {target}:NAME (a Function, Tensor or model)")
    return _load_saved_model(target)


# --------------------------------------------------------------- commands

def _viz(obj, args) -> int:
    from graphc import viz
    path = viz.render(obj, args.output, stage=args.stage, collapse_above=args.collapse_above)
    print(f"wrote {path}")
    return 0


def _inspect(obj, args) -> int:
    from graphc.export import resolve_function
    from graphc.inspect import format_source, number_lines
    function = resolve_function(obj)
    if function is not None:
        print(format_source(function, line_numbers=not args.plain), end="")
        return 0
    # A Tensor or Graph: show the code it would compile to.
    from graphc.viz.html import program_for
    from graphc.export import as_graph
    program = program_for(as_graph(obj))
    if program is None:
        print(str(as_graph(obj)))
    else:
        print(number_lines(program.source) if not args.plain else program.source.rstrip("\n"))
    return 0


def _summary(obj, args) -> int:
    from graphc.inspect import summary
    print(summary(obj), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphc", description="Draw, read and summarize graphc graphs.",
        epilog="TARGET: path/to/file.py:NAME (a Function, Tensor, Graph or Keras model) "
               "or a model file saved by model.save")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("viz", help="draw the graph (HTML viewer, or .svg/.png/.pdf with Graphviz, or .dot)")
    p.add_argument("target", metavar="TARGET")
    p.add_argument("-o", "--output", default="graph.html", help="output file (default: graph.html)")
    p.add_argument("--stage", choices=("optimized", "written"), default="optimized",
                   help="graph to draw for .svg/.png/.dot (the HTML viewer shows both)")
    p.add_argument("--collapse-above", type=int, default=60, metavar="N",
                   help="open the viewer with about N boxes at most (default: 60)")
    p.set_defaults(run=_viz)
    p = sub.add_parser("inspect", help="print the generated code with line numbers and pass statistics")
    p.add_argument("target", metavar="TARGET")
    p.add_argument("--plain", action="store_true", help="no line numbers")
    p.set_defaults(run=_inspect)
    p = sub.add_parser("summary", help="inputs, outputs, variables and node counts")
    p.add_argument("target", metavar="TARGET")
    p.set_defaults(run=_summary)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        obj = load_target(args.target)
        return args.run(obj, args)
    except TargetError as exc:
        print(f"graphc {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"graphc {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
