"""Texts as integer sequences: byte-level or character-level, no tokenizer to download.

Byte-level encoding needs no vocabulary: every UTF-8 byte is a token (ids 2-257). A
character-level vocabulary is built from the training split and saved with the datamodule's
hyperparameters, so a checkpoint encodes new text the same way. Id 0 pads, id 1 stands for a
character the vocabulary has not seen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import torch
from torch import Tensor

PAD, UNKNOWN, FIRST = 0, 1, 2
BYTE_VOCABULARY_SIZE = FIRST + 256
ENCODINGS = ("byte", "char")
PADDING_SIDES = ("right", "left")


def char_vocabulary(texts: Sequence[str], min_count: int = 1) -> list[str]:
    """Return the characters seen at least ``min_count`` times, most frequent first."""
    counts = Counter(char for text in texts for char in text)
    kept = [char for char, count in counts.items() if count >= min_count]
    return sorted(kept, key=lambda char: (-counts[char], char))


def vocabulary_size(encoding: str, vocabulary: Sequence[str] | None) -> int:
    """How many token ids an encoding uses (the model's embedding table size)."""
    if encoding == "byte":
        return BYTE_VOCABULARY_SIZE
    return FIRST + len(vocabulary or [])


def encode(
    texts: Sequence[str],
    *,
    encoding: str,
    max_length: int,
    padding: str = "right",
    vocabulary: Sequence[str] | None = None,
) -> Tensor:
    """Return token ids ``(len(texts), max_length)``, padded with 0 on the ``padding`` side.

    Texts longer than ``max_length`` tokens keep their first ``max_length``.
    """
    index = {char: FIRST + position for position, char in enumerate(vocabulary or [])}
    rows = torch.full((len(texts), max_length), PAD, dtype=torch.long)
    for row, text in enumerate(texts):
        if encoding == "byte":
            ids = [FIRST + byte for byte in text.encode("utf-8")[:max_length]]
        else:
            ids = [index.get(char, UNKNOWN) for char in text[:max_length]]
        if not ids:
            continue
        values = torch.tensor(ids, dtype=torch.long)
        if padding == "left":
            rows[row, max_length - len(ids) :] = values
        else:
            rows[row, : len(ids)] = values
    return rows
