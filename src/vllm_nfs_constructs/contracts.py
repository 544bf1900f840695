"""The facts that cross a boundary, written once (``runtime/contracts.py``, re-exported here).

The file lives in ``runtime/`` because the in-pod programs ship with it: each programs ConfigMap
carries it beside them, and a program imports it the same way in the pod and from a checkout.
Constructs and tests import it from here. Standard library only.
"""

from .runtime.contracts import *  # noqa: F403
from .runtime.contracts import __all__ as __all__  # noqa: PLC0414  (re-exported)
