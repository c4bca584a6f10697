"""Several processes training one model: torch.distributed as `torchrun` sets it up.

    torchrun --nproc_per_node 2 -m musicrnn train corpora/folk.txt --out outputs/models/folk

torchrun starts N copies of the command with RANK, WORLD_SIZE, LOCAL_RANK and
MASTER_ADDR/PORT in their environment.  `Cluster.from_env` joins them into a
process group: NCCL between GPUs (one GPU per process, picked by LOCAL_RANK),
gloo between CPU processes.  The model is wrapped in DistributedDataParallel, so
backward all-reduces (averages) the gradients and every rank takes the same
optimizer step.  What the rest of training needs from the group is here:

* `rank`, `world`, `is_main` (rank 0: the only one that writes checkpoints,
  the log and prepares the token files);
* `agree(values)`: one small all-reduce per step, so every rank sees the same
  loss (NaN anywhere is NaN everywhere) and rank 0's clock (the same LR and the
  same time-budget stop on every rank);
* `share(value)`: rank 0's float (the validation loss) on every rank;
* `gather_lanes(tensor)`: the hidden state of all ranks' lanes, in lane order,
  so the saved state is the one-process state and resume works the same.

Without torchrun (no WORLD_SIZE, or 1) it is a one-process group that does nothing.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["Cluster"]


@dataclass
class Cluster:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device | None = None
    """The GPU of this process under NCCL; None means: pick as usual."""

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    @classmethod
    def from_env(cls, device: torch.device) -> Cluster:
        """Join torchrun's process group (NCCL on CUDA, else gloo), or a group of one."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        rank = int(os.environ["RANK"])
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        own_device = None
        if device.type == "cuda":
            own_device = torch.device("cuda", local_rank)
            torch.cuda.set_device(own_device)
            backend = "nccl"
        else:
            backend = "gloo"
        if not dist.is_initialized():
            dist.init_process_group(
                backend, timeout=datetime.timedelta(minutes=30), device_id=own_device if backend == "nccl" else None
            )
        return cls(rank=rank, world=world, local_rank=local_rank, device=own_device)

    def _tensor(self, values: list[float]) -> torch.Tensor:
        device = self.device if self.device is not None else torch.device("cpu")
        return torch.tensor(values, dtype=torch.float64, device=device)

    def agree(self, local: list[float], from_main: list[float]) -> tuple[list[float], list[float]]:
        """(the mean over ranks of `local`, rank 0's `from_main`), in one all-reduce."""
        if not self.active:
            return local, from_main
        t = self._tensor(local + (from_main if self.is_main else [0.0] * len(from_main)))
        dist.all_reduce(t)
        out = t.tolist()
        return [v / self.world for v in out[: len(local)]], out[len(local) :]

    def share(self, value: float | None) -> float | None:
        """Rank 0's value on every rank (None, sent as NaN, arrives as None)."""
        if not self.active:
            return value
        t = self._tensor([float("nan") if value is None else value])
        dist.broadcast(t, src=0)
        v = t.item()
        return None if v != v else v

    def gather_lanes(self, t: torch.Tensor) -> torch.Tensor:
        """[layers, lanes of this rank, hidden] from every rank -> [layers, all lanes, hidden]."""
        if not self.active:
            return t
        parts = [torch.empty_like(t) for _ in range(self.world)]
        dist.all_gather(parts, t.contiguous())
        return torch.cat(parts, dim=1)

    def lanes_of(self, t: torch.Tensor) -> torch.Tensor:
        """This rank's lanes of a [layers, all lanes, hidden] state."""
        if not self.active:
            return t
        b = t.shape[1] // self.world
        return t[:, self.rank * b : (self.rank + 1) * b]

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def close(self) -> None:
        if self.active and dist.is_initialized():
            dist.destroy_process_group()
