"""The scenario registry. A scenario is one small file in bench/scenarios/ holding a Scenario
subclass decorated with @scenario; the harness finds it there, nothing else needs editing:

    @scenario
    class RewardIssue(Scenario):
        name = "reward_issue"
        title = "Reward issue over HTTP, 32 clients"
        sizes = {"small": {...}, "medium": {...}, "default": {...}}

        def run(self, ctx: ScenarioContext) -> None:
            bench = ctx.org("reward issue")   # throwaway org, deleted after the scenario
            ...                               # build data set-wise, measure
            ctx.figure("issues", value, "issues/s", reference=..., target=...)
            ctx.check("stock held", ok)

Scenarios the targets speak of whose feature is not built yet are listed in PLANNED: they
appear in the table and the JSON as "not available yet" until a file registers the same name.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    from bench.context import ScenarioContext

SCALES = ("small", "medium", "default")
SCENARIO_PACKAGE = "bench.scenarios"


class Scenario:
    """Base class. Subclasses set name, title, sizes (one dict per scale) and implement run()."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    # Sorts the table; lower first.
    order: ClassVar[int] = 100
    sizes: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    def run(self, ctx: ScenarioContext) -> None:
        raise NotImplementedError

    @classmethod
    def sizes_for(cls, scale: str) -> dict[str, Any]:
        if scale not in cls.sizes:
            raise KeyError(f"Scenario {cls.name} has no sizes for scale {scale!r}")
        return dict(cls.sizes[scale])


@dataclass(frozen=True)
class PlannedScenario:
    """A scenario the targets name whose feature does not exist yet."""

    name: str
    title: str
    order: int


# Every scenario the targets name is built; a later feature whose scenario is not written yet
# is listed here, so the table shows it as "not available yet".
PLANNED: tuple[PlannedScenario, ...] = ()

ScenarioClass = TypeVar("ScenarioClass", bound=type[Scenario])


class Registry:
    def __init__(self, planned: Iterable[PlannedScenario] = ()) -> None:
        self._scenarios: dict[str, type[Scenario]] = {}
        self._planned = {item.name: item for item in planned}

    def register(self, scenario_class: ScenarioClass) -> ScenarioClass:
        name = scenario_class.name
        if not name or not scenario_class.title:
            raise ValueError(f"{scenario_class.__qualname__} needs a name and a title")
        missing = [scale for scale in SCALES if scale not in scenario_class.sizes]
        if missing:
            raise ValueError(f"Scenario {name} has no sizes for {', '.join(missing)}")
        existing = self._scenarios.get(name)
        if existing is not None and existing.__qualname__ != scenario_class.__qualname__:
            raise ValueError(f"Scenario {name!r} is already registered by {existing.__qualname__}")
        self._scenarios[name] = scenario_class
        return scenario_class

    def get(self, name: str) -> type[Scenario] | PlannedScenario:
        if name in self._scenarios:
            return self._scenarios[name]
        if name in self._planned:
            return self._planned[name]
        raise KeyError(name)

    def names(self) -> list[str]:
        """Every scenario, built or planned, in table order."""
        entries: dict[str, tuple[int, str]] = {
            name: (item.order, name) for name, item in self._planned.items()
        }
        entries.update({name: (cls.order, name) for name, cls in self._scenarios.items()})
        return sorted(entries, key=lambda name: entries[name])

    def is_available(self, name: str) -> bool:
        return name in self._scenarios


registry = Registry(PLANNED)


def scenario(scenario_class: ScenarioClass) -> ScenarioClass:
    """Class decorator: register a scenario in the harness's registry."""
    return registry.register(scenario_class)


def discover(package: str = SCENARIO_PACKAGE) -> Registry:
    """Import every module of bench/scenarios so that their @scenario classes register."""
    module = importlib.import_module(package)
    for info in pkgutil.iter_modules(module.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")
    return registry
