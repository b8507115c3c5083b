"""SnapStart's runtime hooks, for the functions a registrant waits on (template.yaml: the registration API and the
Stripe webhook publish versions with SnapStart).

With SnapStart, Lambda runs a version's Init once when it is published, snapshots the environment's memory, and
starts every new environment of that version from the snapshot. So what the imports defer to a first request is
done here, before the snapshot: the Stripe SDK (shared/adapters/stripe_gateway.py) and every model's validator
(shared/models.py). And what no two environments may share is kept out of the snapshot or renewed after it:

- no secret: the secrets' cache (the Stripe key, the webhook's signing secrets) and the Stripe clients made with
  the key are emptied before the snapshot, so each environment reads its own (and sees a rotation);
- no connection: an HTTP session lives in its Stripe or boto3 client, and neither is made before the snapshot;
- `random`'s state is re-seeded after a restore: restored from one snapshot, every environment would draw the
  same retry jitter (botocore's and Stripe's back-off), retrying in step. Identifiers and access codes come from
  `secrets` (the OS's randomness, shared/ids.py) and are unique whatever the snapshot.

`snapshot_restore_py` ships with Lambda's Python runtimes. Anywhere else (this machine, the tests) nothing is
snapshotted: `use_snapstart` registers nothing and the hooks never run; the tests call them directly.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable, Iterator

from aws_lambda_powertools.utilities import parameters

from shared.adapters.stripe_gateway import stripe_client
from shared.models import Model

Primer = Callable[[], object]


def use_snapstart(*primers: Primer) -> None:
    """Register the hooks: before the snapshot, run `primers` (loading what the function's requests will use) and
    build every model imported so far; after a restore, re-seed `random`."""
    try:
        hooks = importlib.import_module("snapshot_restore_py")
    except ModuleNotFoundError:
        return
    hooks.register_before_snapshot(before_snapshot, *primers)
    hooks.register_after_restore(after_restore)


def before_snapshot(*primers: Primer) -> None:
    for prime in primers:
        prime()
    for model in _models(Model):
        model.model_rebuild()
    # Last: whatever Init or a primer read, the snapshot holds no secret and no client made with one.
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    stripe_client.cache_clear()


def after_restore() -> None:
    random.seed()


def _models(base: type[Model]) -> Iterator[type[Model]]:
    for model in base.__subclasses__():
        yield model
        yield from _models(model)
