"""The models the studio offers: the bundled ones and those found in the folders given with
--models, each loaded once per process, on first use."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import encoders
from musicrnn.studio.compose import StudioError

__all__ = ["ModelInfo", "Shelf"]

KIND_ABC, KIND_TAB, KIND_MIDI = "abc", "tab", "midi"
"""What the page shows for a model: meter and key (abc-like text), tuning and capo (tabs),
a MIDI file to continue (schemes that continue a file's opening)."""


_MAX_META = 1 << 20


@dataclass(slots=True)
class ModelInfo:
    name: str
    path: str
    scheme: str
    kind: str
    meters: list[str] = field(default_factory=list)
    """The meters of the model's corpus (empty: any)."""
    fields: tuple[str, ...] = ()
    """The choices its pieces' header takes (Scheme.header_fields: meter, key, tuning, capo ...)."""
    tunings: list[str] = field(default_factory=list)
    """Tab models: the tunings to offer (the corpus's, else the usual ones)."""

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "scheme": self.scheme,
            "kind": self.kind,
            "meters": self.meters,
            "fields": list(self.fields),
            "tunings": self.tunings,
        }


def _meta(folder: str) -> dict | None:
    """A model folder's meta.json (None when the folder holds no model)."""
    from musicrnn.checkpoint import META, WEIGHTS

    if not (os.path.isfile(os.path.join(folder, META)) and os.path.isfile(os.path.join(folder, WEIGHTS))):
        return None
    try:
        with open(os.path.join(folder, META), "rb") as fh:
            meta = json.loads(fh.read(_MAX_META))
    except (OSError, ValueError, RecursionError):
        return None  # loading it would say what is wrong; the page does not list it
    return meta if isinstance(meta, dict) and isinstance(meta.get("scheme"), str) else None


def _info(name: str, folder: str, meta: dict) -> ModelInfo | None:
    try:
        codec = encoders.get(meta["scheme"])
    except encoders.UsageError:
        return None
    if codec.engraving == "tab":
        kind = KIND_TAB
    elif codec.supports_continuation:
        kind = KIND_MIDI
    else:
        kind = KIND_ABC
    options = meta.get("scheme_options") if isinstance(meta.get("scheme_options"), dict) else {}
    meters = [m for m in options.get("meters") or [] if isinstance(m, str) and m != "none"]
    tunings = []
    if "tuning" in codec.header_fields:
        from encoders.tab.fretting import TUNINGS

        tunings = [t for t in options.get("tunings") or [] if isinstance(t, str)][:40] or list(TUNINGS)
    return ModelInfo(name, folder, codec.name, kind, meters, tuple(codec.header_fields), tunings)


class Shelf:
    """The models by name, in the order the page lists them: bundled first, then each --models
    folder (a model folder, or a folder whose subfolders are models)."""

    def __init__(self, folders: list[str | os.PathLike] = ()):
        from musicrnn.checkpoint import BUNDLED_DIR, bundled_models

        self.models: dict[str, ModelInfo] = {}
        for name in bundled_models():
            self._add(name, os.path.join(BUNDLED_DIR, name))
        for folder in folders:
            folder = Path(folder)
            if not folder.is_dir():
                raise StudioError(f"--models {folder}: {encoders.not_a_file(folder)}")
            if self._add(folder.name, str(folder)):
                continue
            found = [self._add(sub.name, str(sub)) for sub in sorted(folder.iterdir()) if sub.is_dir()]
            if not any(found):
                raise StudioError(f"--models {folder}: no model folder (meta.json and model.safetensors) in it")
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _add(self, name: str, folder: str) -> bool:
        meta = _meta(folder)
        info = _info(name, folder, meta) if meta else None
        if info is None:
            return False
        while info.name in self.models:
            info.name += "'"
        self.models[info.name] = info
        return True

    def info(self, name: str) -> ModelInfo:
        try:
            return self.models[name]
        except KeyError:
            raise StudioError(f"no model named {name[:40]!r} here (choose one of {', '.join(self.models)})") from None

    def loaded(self, name: str):
        """The model, loaded the first time it is asked for and kept (musicrnn.checkpoint.Loaded)."""
        info = self.info(name)
        with self._lock:
            if name not in self._loaded:
                from musicrnn.checkpoint import load

                self._loaded[name] = load(info.path)
            return self._loaded[name]
