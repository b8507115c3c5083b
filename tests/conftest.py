"""Settings every suite shares: the local stack's fake AWS account in one region, and no real endpoint ever."""

from __future__ import annotations

# Lambda sets a function's environment before its modules are imported; Powertools reads its settings at
# import. pytest imports every test module (and so shared.observability) before any fixture runs, so the fake
# account and the template's static Globals are applied here, first.
from infra.fake_account import use_fake_account

use_fake_account()
