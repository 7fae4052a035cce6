"""Options: defaults, ``[tool.lr-bench.lint]`` in the user's ``pyproject.toml``, then the command line.

Every key has one meaning in both places; an unknown key or a bad value is a usage error naming
it and what is allowed, like a bad command-line option.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.lint.rules import REGISTRY
from bench.lint.target import TARGETS, default_target

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

FORMATS = ("text", "json", "github", "sarif")
KEYS = ("select", "ignore", "target", "format", "exclude", "all")


class ConfigError(ValueError):
    """A bad option value, from the command line or pyproject.toml: one line, exit 2."""


@dataclass
class Options:
    select: tuple[str, ...] | None = None   # None: the rules on by default
    ignore: tuple[str, ...] = ()
    target: str | None = None               # None: the Keras the installed TensorFlow uses
    format: str = "text"
    exclude: tuple[str, ...] = ()
    all: bool = False

    def codes(self) -> tuple[str, ...]:
        chosen = [c for c, r in REGISTRY.items() if r.default] if self.select is None else \
            [c for c in REGISTRY if any(_matches(c, s) for s in self.select)]
        return tuple(c for c in chosen if not any(_matches(c, i) for i in self.ignore))

    def flavour(self) -> str:
        return self.target or default_target()


def _matches(code: str, selector: str) -> bool:
    return selector == "ALL" or code.startswith(selector)


def codes_list(option: str, value) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
        raise ConfigError(f"{option}: {value!r} is not a list of rule codes; valid: ALL, LR, {', '.join(REGISTRY)}")
    codes = tuple(i.strip().upper() for i in items if i.strip())
    if not codes:
        raise ConfigError(f"{option}: empty list; valid: ALL, LR, {', '.join(REGISTRY)}")
    for c in codes:
        if c != "ALL" and not any(code.startswith(c) for code in REGISTRY):
            raise ConfigError(f"{option}: unknown rule code {c!r}; valid: ALL, LR, {', '.join(REGISTRY)}")
    return codes


def choice(option: str, value, valid: tuple[str, ...]) -> str:
    if value not in valid:
        raise ConfigError(f"{option}: {value!r} is not allowed; valid: {', '.join(valid)}")
    return value


def find_pyproject(paths: list[str]) -> Path | None:
    start = Path(paths[0]).resolve() if paths else Path.cwd()
    for folder in [start] + list(start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def from_pyproject(path: Path | None, opts: Options) -> Options:
    if path is None:
        return opts
    try:
        doc = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    table = doc.get("tool", {}).get("lr-bench", {}).get("lint", {})
    where = f"{path} [tool.lr-bench.lint]"
    for key, value in table.items():
        if key not in KEYS:
            raise ConfigError(f"{where}: unknown key {key!r}; valid: {', '.join(KEYS)}")
        if key in ("select", "ignore"):
            setattr(opts, key, codes_list(f"{where} {key}", value))
        elif key == "target":
            opts.target = choice(f"{where} target", value, TARGETS)
        elif key == "format":
            opts.format = choice(f"{where} format", value, FORMATS)
        elif key == "exclude":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where} exclude: {value!r} is not a list of glob patterns")
            opts.exclude = tuple(value)
        elif key == "all":
            if not isinstance(value, bool):
                raise ConfigError(f"{where} all: {value!r} is not allowed; valid: true, false")
            opts.all = value
    return opts
