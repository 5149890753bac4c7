"""Log-space reductions whose gradients stay finite when every input is ``-inf``.

``torch.logsumexp`` returns ``-inf`` for an all-``-inf`` row but its gradient is ``NaN`` there
(``exp(-inf - -inf)``), which poisons every recursion that carries unreachable states. This
version gives the same values and a zero gradient for such rows.
"""

from __future__ import annotations

import torch

__all__ = ["logsumexp"]


def logsumexp(x: torch.Tensor, dim: int) -> torch.Tensor:
    """``log(sum(exp(x), dim))`` with a zero (not NaN) gradient where all inputs are ``-inf``."""
    top = x.detach().amax(dim, keepdim=True)
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    total = (x - top).exp().sum(dim)
    tiny = torch.finfo(x.dtype).tiny
    out = torch.where(total > 0, total.clamp(min=tiny).log(), torch.full_like(total, float("-inf")))
    return out + top.squeeze(dim)

