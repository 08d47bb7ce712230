"""import-linter's contracts, applied to the shipped code only (pyproject.toml, [tool.importlinter]).

A test sits beside what it tests and may reach across the layers (a route's test starts the whole
app, a pool's test imports the driver); import-linter's `ignore_imports` cannot name "every
`*_test` module", so these contracts check the graph without the tests and the conftests.
"""

import grimp
from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract
from importlinter.domain.contract import ContractCheck


def is_test(module: str) -> bool:
    name = module.rsplit(".", 1)[-1]
    return name.endswith("_test") or name == "conftest"


def _without_tests(graph: grimp.ImportGraph) -> grimp.ImportGraph:
    for module in [m for m in graph.modules if is_test(m)]:
        graph.remove_module(module)
    return graph


class ShippedLayers(LayersContract):
    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        return super().check(_without_tests(graph), verbose)


class ShippedForbidden(ForbiddenContract):
    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        return super().check(_without_tests(graph), verbose)


class ShippedAcyclic(AcyclicSiblingsContract):
    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        return super().check(_without_tests(graph), verbose)
