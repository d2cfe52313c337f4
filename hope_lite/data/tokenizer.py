"""A byte-level tokenizer: the 256 byte values are the vocabulary of the language models.

Why bytes? A teaching library must run anywhere, offline, and be read end to end. A byte
tokenizer has no vocabulary file to download, no training step and no unknown tokens: every
string is a sequence of UTF-8 bytes, every byte is a token id in ``0..255``, and decoding is
``bytes(ids).decode("utf-8")``. The price is longer sequences (about one token per character of
English, two to four per character elsewhere) which is fine for the small models of hope_lite.

Round trip: ``decode(encode(s)) == s`` for every ``str`` that can be written as UTF-8, i.e. any
text (not a string with a lone surrogate such as ``"\\ud800"``, which is not text:
:meth:`ByteTokenizer.encode` rejects it with a ValueError). Not every id sequence is valid
UTF-8 (a model can emit half a character); :meth:`ByteTokenizer.decode` replaces such bytes
by U+FFFD instead of failing, so sampled text can always be printed.
"""

from __future__ import annotations

import operator
from typing import Sequence

import torch
from torch import Tensor

__all__ = ["ByteTokenizer", "BYTES"]


class ByteTokenizer:
    """UTF-8 bytes as tokens: ``vocab_size = 256``, nothing to download or train.

    >>> tok = ByteTokenizer()
    >>> ids = tok.encode("héllo")
    >>> ids.tolist(), tok.decode(ids)
    ([104, 195, 169, 108, 108, 111], 'héllo')
    """

    vocab_size: int = 256

    def encode(self, text: str) -> Tensor:
        """The UTF-8 bytes of ``text`` as a 1-D int64 tensor (the dtype embeddings index with)."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a str, got {type(text).__name__}; decode bytes first "
                             f"(e.g. data.decode('utf-8')) or pass the string itself.")
        try:
            raw = text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError(f"text has a lone surrogate {text[error.start]!r} at index {error.start}, "
                             f"which is not valid Unicode and has no UTF-8 bytes; remove it or "
                             f"re-read the source with errors='replace'.") from None
        if not raw:
            return torch.empty(0, dtype=torch.int64)
        return torch.frombuffer(bytearray(raw), dtype=torch.uint8).to(torch.int64)

    def decode(self, ids: Tensor | Sequence[int]) -> str:
        """The text whose UTF-8 bytes are ``ids`` (a 1-D tensor or a sequence of ints in 0..255).

        A sequence may be a list, ``bytes`` or a 1-D NumPy array (any integer type). Byte
        sequences that are not valid UTF-8 (e.g. a character cut in half) become U+FFFD
        ("\ufffd"), because sampled ids must always be printable. Ids outside 0..255 are a bug
        upstream (a model with the wrong vocabulary size), so they raise a ValueError.
        """
        if isinstance(ids, Tensor):
            if ids.dtype.is_floating_point or ids.dtype.is_complex or ids.dtype == torch.bool:
                raise ValueError(f"ids must be an integer tensor, got dtype {ids.dtype}; "
                                 f"take the argmax or sample before decoding.")
            if ids.dim() != 1:
                raise ValueError(f"ids must be 1-D, got shape {tuple(ids.shape)}; decode one "
                                 f"sequence at a time (e.g. ids[0]).")
            values = ids.tolist()
        elif isinstance(ids, str):
            raise ValueError("ids must be token ids (a 1-D tensor or a sequence of ints), got a str: it is "
                             "text already (encode turns text into ids).")
        elif not hasattr(ids, "__iter__"):
            raise ValueError(f"ids must be token ids (a 1-D tensor or a sequence of ints), got "
                             f"{type(ids).__name__}.")
        else:
            values = [_token_id(value, position) for position, value in enumerate(ids)]
        bad = [(position, value) for position, value in enumerate(values) if not 0 <= value < 256]
        if bad:
            shown = ", ".join(f"{value} at position {position}" for position, value in bad[:5])
            more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
            raise ValueError(f"ids must be bytes in 0..255 (vocab_size = 256), got {shown}{more}; "
                             f"check that the model's vocabulary size is 256.")
        return bytes(values).decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        return f"ByteTokenizer(vocab_size={self.vocab_size})"


def _token_id(value: object, position: int) -> int:
    """``value`` as a Python int: any integer type (NumPy's too), but not a bool, a float or a str."""
    if not isinstance(value, bool):
        try:
            return operator.index(value)
        except TypeError:
            pass
    raise ValueError(f"ids must be ints, got {value!r} at position {position}.")


BYTES = ByteTokenizer()
"""A ready-made tokenizer: ``from hope_lite.data import BYTES; BYTES.encode("hi")``."""
