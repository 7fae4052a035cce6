from bench.scenarios import Scenario, register


@register
class Static(Scenario):
    """Constant LR, never changed: the baseline every other scenario is read against."""

    id = "static"
    rank = 0
