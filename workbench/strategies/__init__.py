"""Strategies: the base class and the reference strategies, by name."""

from __future__ import annotations

from workbench.errors import ConfigError
from workbench.strategies.base import Param, Rolling, Strategy
from workbench.strategies.buy_and_hold import BuyAndHold
from workbench.strategies.every_bar import EveryBar
from workbench.strategies.manual import Manual
from workbench.strategies.mean_reversion import MeanReversion
from workbench.strategies.options import IronCondor, PutWrite, Wheel
from workbench.strategies.quote_taker import QuoteTaker
from workbench.strategies.rebalance import Rebalance
from workbench.strategies.sma_cross import SmaCross

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (SmaCross, BuyAndHold, MeanReversion, EveryBar, Manual, PutWrite, Wheel,
                              IronCondor, Rebalance)
}


def strategy_class(name: str) -> type[Strategy]:
    """The strategy class registered as ``name``, or a user's own class named
    ``path/to/file.py:Class`` or ``package.module:Class`` (:func:`load_strategy`)."""
    if name in STRATEGIES:
        return STRATEGIES[name]
    if isinstance(name, str) and ":" in name:
        return load_strategy(name)
    raise ConfigError(f"unknown strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}, or a class of your own "
                      "as path/to/file.py:Class or module:Class")


_LOADED: dict[tuple, object] = {}  # a file's module by (path, size, mtime): imported once per change


def load_strategy(spec: str) -> type[Strategy]:
    """The :class:`Strategy` subclass ``spec`` names: ``path/to/file.py:Class`` (the file is
    imported as a module of its own) or ``package.module:Class`` (imported from the Python
    path). Anything wrong (no such file or class, an error while importing, a class that
    is not a strategy) is a :class:`ConfigError` saying what and where."""
    import importlib
    import importlib.util
    import sys
    from pathlib import Path

    where, _, cls_name = spec.rpartition(":")
    if not where or not cls_name.isidentifier():
        raise ConfigError(f"strategy {spec!r}: expected path/to/file.py:Class or module:Class")
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where).expanduser()
        if not path.is_file():
            raise ConfigError(f"strategy {spec}: no such file {where}")
        path = path.resolve()
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        module = _LOADED.get(key)
        if module is None:
            from workbench.hashing import sha256_bytes

            mod_name = f"workbench_user_{path.stem}_{sha256_bytes(str(path))[:8]}"
            found = importlib.util.spec_from_file_location(mod_name, path)
            if found is None or found.loader is None:
                raise ConfigError(f"strategy {spec}: {where} cannot be imported as Python")
            module = importlib.util.module_from_spec(found)
            sys.modules[mod_name] = module  # so that pickling and dataclasses find it
            if str(path.parent) not in sys.path:  # its helper modules beside it import as under `python file.py`
                sys.path.append(str(path.parent))
            try:
                found.loader.exec_module(module)
            except (Exception, SystemExit) as exc:  # sys.exit() at import: an error, not the program's end
                sys.modules.pop(mod_name, None)
                raise ConfigError(f"strategy {spec}: importing {where} failed: {_where_failed(exc, path)}") from None
            _LOADED[key] = module
    else:
        try:
            module = importlib.import_module(where)
        except ModuleNotFoundError as exc:
            raise ConfigError(f"strategy {spec}: no module {exc.name!r} on the Python path "
                              "(a file is named by its path ending in .py)") from None
        except (Exception, SystemExit) as exc:
            raise ConfigError(f"strategy {spec}: importing {where} failed: {_where_failed(exc, None)}") from None
    cls = getattr(module, cls_name, None)
    if cls is None:
        found_classes = sorted(k for k, v in vars(module).items()
                               if isinstance(v, type) and issubclass(v, Strategy) and v.__module__ == module.__name__)
        raise ConfigError(f"strategy {spec}: {where} has no {cls_name}"
                          + (f"; its strategies: {', '.join(found_classes)}" if found_classes else
                             "; it defines no Strategy subclass"))
    if not (isinstance(cls, type) and issubclass(cls, Strategy)) or cls is Strategy:
        raise ConfigError(f"strategy {spec}: {cls_name} is not a subclass of workbench.strategies.Strategy"
                          + (" (it is the base class itself)" if cls is Strategy else ""))
    return cls


def _where_failed(exc: BaseException, path) -> str:
    """``SyntaxError: invalid syntax (line 3)``: the error and the user's line, no traceback."""
    import traceback

    line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
    if line is None:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if path is None or f.filename == str(path)]
        line = frames[-1].lineno if frames else None
    text = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return f"{type(exc).__name__}: {text}" + (f" (line {line})" if line else "")


def register(cls: type[Strategy]) -> type[Strategy]:
    """Make a strategy class known by its ``name`` (usable as a decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise TypeError("register() takes a Strategy subclass")
    STRATEGIES[cls.name] = cls
    return cls


__all__ = ["STRATEGIES", "BuyAndHold", "EveryBar", "IronCondor", "Manual", "MeanReversion", "Param", "PutWrite", "QuoteTaker", "Rebalance", "Rolling", "SmaCross", "Strategy",
           "Wheel", "load_strategy", "register", "strategy_class"]
