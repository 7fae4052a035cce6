from bench.scenarios import DISTRIBUTED, Scenario, register


@register
class Static(Scenario):
    """Constant LR, never changed: the baseline every other scenario is read against."""

    id = "static"
    rank = 0
    strategies = DISTRIBUTED  # the control: a probe that reads every replica must find nothing changed
