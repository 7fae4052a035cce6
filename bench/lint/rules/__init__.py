"""The rule registry: one small class per pitfall the bench measures, registered on import.

A rule's docstring is its documentation page (``lr-bench lint --write-docs``): a one-line summary,
then paragraphs; ``scenarios`` names the bench scenarios whose cells measure the pattern, and every
finding cites them for the target flavour. Rules yield ``Hit``s; ``bench.lint.engine`` attaches the
measured verdicts, drops what the target measured as fine, and formats the message.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from dataclasses import dataclass, field

from bench.lint.evidence import Citation

REGISTRY: dict[str, "Rule"] = {}
ALL_MODES: tuple[str, ...] = ()


@dataclass
class Edit:
    """Replace the text between two (line, col) positions (1-based lines, 0-based cols)."""

    line: int
    col: int
    end_line: int
    end_col: int
    text: str


@dataclass
class Hit:
    node: ast.AST
    what: str                          # the pattern, in the user's own words: "`opt.lr = ...` sets the Keras 2 alias"
    scenario: str
    modes: tuple[str, ...] = ALL_MODES
    apis: tuple[str, ...] = ()
    edits: list[Edit] = field(default_factory=list)
    #: the fix is only applied when the named scenario is fine on the target (e.g. attr-set)
    fix_needs: tuple[str, ...] = ()
    line: int | None = None            # override the node's position (e.g. an attribute's name)
    col: int | None = None


class Rule:
    code: str = ""
    name: str = ""
    scenarios: tuple[str, ...] = ()
    #: selected unless asked for by --select: off for patterns whose verdict depends on intent
    default: bool = True

    @property
    def summary(self) -> str:
        return (self.__doc__ or "").strip().splitlines()[0]

    def check(self, a, target: str):
        """Yield ``Hit``s for the analysed module ``a``."""
        return ()

    def concern(self, c: Citation) -> bool:
        """Is what was measured worth a warning? Default: anything but effective in every cell."""
        return not c.fine()

    def detail(self, c: Citation) -> str:
        """Extra measured facts for the message (the print that lies, retrace counts)."""
        if c.measured and c.misreported:
            return f"; optimizer.learning_rate reported another LR than the one applied in {c.misreported} of {c.total}"
        return ""


def register(cls: type[Rule]) -> type[Rule]:
    if not cls.code or cls.code in REGISTRY:
        raise ValueError(f"rule code {cls.code!r} is empty or registered twice")
    if not (cls.__doc__ or "").strip() or not cls.scenarios:
        raise ValueError(f"rule {cls.code} needs a docstring (its page) and the scenarios that measure it")
    REGISTRY[cls.code] = cls()
    return cls


def name_span(node: ast.Attribute) -> tuple[int, int, int, int]:
    """Where an attribute's own name is: ``lr`` in ``opt.lr``."""
    return node.end_lineno, node.end_col_offset - len(node.attr), node.end_lineno, node.end_col_offset


def _load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    ordered = sorted(REGISTRY.items())
    REGISTRY.clear()
    REGISTRY.update(ordered)


_load_all()
