"""Seeded generators of test data for ``reconcile``: not part of the product.

They live beside the package, not in it, so that the wheel ships no generator
(``[tool.hatch.build.targets.wheel] packages = ["reconcile"]``).  The tests find
them in the checkout (``tests/conftest.py`` puts the repo root on ``sys.path``);
run them from the repo root as ``python -m simulate.provider`` and
``python -m simulate.cashback``.

* :mod:`simulate.provider`: one day of a game provider's wallet calls and the ledger.
* :mod:`simulate.cashback`: cashback make requests and the casino's accept calls.
"""
