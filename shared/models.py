"""The base of every pydantic model in shared/: its validator and serializer are built on first use.

Building them (pydantic-core schemas) is most of what defining a model costs, and a function imports many
models that none of its routes uses (the stream dispatcher imports every registration model through the
table's adapter); deferred, each is built once, the first time the process validates, dumps or documents
it. With SnapStart the registrant-facing functions build theirs before the snapshot (shared/snapstart.py).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)
