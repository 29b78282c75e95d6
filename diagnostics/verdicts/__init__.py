"""Probe facts -> one verdict per component, by an ordered rule table, diagnosed from the bottom layer up.

Each Rule names the evidence it reads, the situation it covers, the status, a reason that quotes that evidence
and the fix. `judge` walks RULES in order for one component and the first rule whose test finds evidence decides.
The lower layers (kernel driver, user-space driver, NVML, where it runs, library resolution) are judged first,
once per machine (`layers`); a framework row whose failure a lower layer explains carries that layer's rule and
fix. What differs per framework is data: VIEWS (how to read its facts) and diagnostics.stack.STACK.

- model: Status, Verdict, Rule, Found
- machine: the facts model (Machine, Subject, VIEWS)
- evidence: searching and quoting the frameworks' own words
- layers: the lower layers, bottom up, and their rule tests
- findings: the rule tests above them
- rules: the table
- judge: walking the table, rendering templates
"""

from diagnostics.registry import COMPONENTS, TITLES
from diagnostics.verdicts.judge import judge_all, judge_layers
from diagnostics.verdicts.machine import cudnn_text
from diagnostics.verdicts.model import UPGRADE, LayerCheck, Rule, Status, Verdict
from diagnostics.verdicts.rules import RULES

__all__ = [
    "COMPONENTS",
    "RULES",
    "TITLES",
    "UPGRADE",
    "LayerCheck",
    "Rule",
    "Status",
    "Verdict",
    "cudnn_text",
    "judge_all",
    "judge_layers",
]
