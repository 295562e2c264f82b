"""Hashed bag-of-words features for texts and scaled pixel matrices for images.

Text: tokens are lower-cased words (`\\w+`), each hashed with MurmurHash3 (seed 0, stable
across processes and machines, unlike Python's `hash`) into `n_buckets`; a bigram's bucket is
mixed arithmetically from its two words' 32-bit hashes, so only words are ever hashed as
strings. This is what scikit-learn's HashingVectorizer does with `ngram_range=(1, 2),
alternate_sign=False` (other bucket numbers), about three times as fast: words are hashed once
per process through a bounded cache, bigrams in numpy, a whole chunk in one regex call.
Optional character n-grams go through HashingVectorizer itself (slower; off by default).
"""

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

# Words are runs of letters and digits (any script): "don't" is "don" "t", as in
# scikit-learn's default; the bigram keeps them together. A plainer pattern is ~1.4x faster.
TOKEN = re.compile(r"\w+")
# Word -> 32-bit hash. About 100 bytes an entry, so at most ~20 MB per process; past the cap new
# words are hashed on every call (slower, same result).
TOKEN_CACHE_MAX = 200_000
_token_cache: dict[str, int] = {}

# Odd 32-bit constant (golden ratio) that mixes the first word of a bigram before the second.
BIGRAM_MIX = np.uint64(0x9E3779B1)
BIGRAM_SALT = np.uint64(0x7F4A7C15)
MASK32 = np.uint64(0xFFFFFFFF)


@dataclass(frozen=True)
class TextFeatures:
    """How texts become hashed features; stored with a model as JSON."""

    n_buckets: int = 2**18
    bigrams: bool = True
    # Character n-grams (e.g. (3, 5)) in a second hashed block: helps with typos and rare
    # words, costs about 3x the featurizing time.
    char_ngrams: tuple[int, int] | None = None
    char_buckets: int = 2**16

    @property
    def width(self) -> int:
        return self.n_buckets + (self.char_buckets if self.char_ngrams else 0)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, config: dict) -> "TextFeatures":
        char = config.get("char_ngrams")
        return cls(
            n_buckets=int(config["n_buckets"]),
            bigrams=bool(config["bigrams"]),
            char_ngrams=(int(char[0]), int(char[1])) if char else None,
            char_buckets=int(config.get("char_buckets", 2**16)),
        )


# Stands between two texts in the joined string that is tokenized at once (one regex call for
# a whole chunk is about 1.5x faster than one per text); its "hash" is outside 32 bits.
SEPARATOR = "\x00"
SEPARATOR_HASH = 1 << 40
_token_cache[SEPARATOR] = SEPARATOR_HASH
TOKEN_OR_SEPARATOR = re.compile(TOKEN.pattern + "|" + SEPARATOR)


def _hash_tokens(tokens: list[str]) -> np.ndarray:
    hashes = list(map(_token_cache.get, tokens))
    if None in hashes:
        for position, value in enumerate(hashes):
            if value is None:
                token = tokens[position]
                value = murmurhash3_32(token, seed=0, positive=True)
                if len(_token_cache) < TOKEN_CACHE_MAX:
                    _token_cache[token] = value
                hashes[position] = value
    return np.array(hashes, dtype=np.uint64)


def _token_stream(texts: Sequence[str]) -> np.ndarray:
    """Hashes of the words of all texts in order, with SEPARATOR_HASH between two texts."""
    joined = SEPARATOR.join(texts)
    if joined.count(SEPARATOR) != max(len(texts) - 1, 0):
        joined = SEPARATOR.join(text.replace(SEPARATOR, " ") for text in texts)
    return _hash_tokens(TOKEN_OR_SEPARATOR.findall(joined.lower()))


def word_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hashes of every word of every text, flat, and the (n + 1) offsets of each text."""
    stream = _token_stream(texts)
    is_word = stream != SEPARATOR_HASH
    owner = np.cumsum(~is_word)
    counts = np.bincount(owner[is_word], minlength=len(texts))
    return stream[is_word], np.concatenate([[0], np.cumsum(counts)])


def bags(texts: Sequence[str], features: TextFeatures) -> tuple[np.ndarray, np.ndarray]:
    """Bucket ids of every word (and bigram) of every text, flat, and the (n + 1) offsets: the
    input of an EmbeddingBag, or of a CSR matrix. Words come first within a text when there are
    no bigrams; with bigrams each word is followed by the bigram it starts."""
    if not features.bigrams:
        hashes, offsets = word_hashes(texts)
        return (hashes % np.uint64(features.n_buckets)).astype(np.int64), offsets
    stream = _token_stream(texts)
    is_word = stream != SEPARATOR_HASH
    owner = np.cumsum(~is_word)
    buckets = np.uint64(features.n_buckets)
    # Slot 2i holds word i, slot 2i + 1 the bigram (word i, word i + 1) when both are words of
    # the same text: the text order is kept, so no sort is needed to build the rows.
    slots = np.zeros(2 * len(stream), dtype=np.uint64)
    valid = np.zeros(2 * len(stream), dtype=bool)
    slots[0::2] = stream % buckets
    valid[0::2] = is_word
    if len(stream) > 1:
        pairs = (stream[:-1] * BIGRAM_MIX + stream[1:] + BIGRAM_SALT) & MASK32
        slots[1:-1:2] = pairs % buckets
        valid[1:-1:2] = is_word[:-1] & is_word[1:]
    slot_owner = np.repeat(owner, 2)[valid]
    counts = np.bincount(slot_owner, minlength=len(texts))
    return slots[valid].astype(np.int64), np.concatenate([[0], np.cumsum(counts)])


def _l2_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ matrix)


def text_matrix(texts: Sequence[str], features: TextFeatures) -> sp.csr_matrix:
    """Counts of each bucket per text (a CSR matrix, float32), each row scaled to unit length."""
    ids, offsets = bags(texts, features)
    counts = sp.csr_matrix(
        (np.ones(len(ids), dtype=np.float32), ids, offsets),
        shape=(len(texts), features.n_buckets),
    )
    counts.sum_duplicates()
    matrix = _l2_rows(counts)
    if features.char_ngrams:
        chars = HashingVectorizer(
            analyzer="char_wb",
            ngram_range=features.char_ngrams,
            n_features=features.char_buckets,
            alternate_sign=False,
            dtype=np.float32,
        ).transform(texts)
        matrix = sp.hstack([matrix, chars], format="csr")
    return matrix.astype(np.float32)


def pixel_scale(images: Sequence) -> float:
    """The value that means 'full intensity': 1, 16 (scikit-learn's digits) or 255 (8-bit), or
    the largest value seen when it is none of those."""
    peak = max((float(np.max(np.asarray(image))) for image in images), default=1.0)
    for scale in (1.0, 16.0, 255.0):
        if peak <= scale:
            return scale
    return peak


def pixel_array(images: Sequence, shape: tuple[int, int], scale: float) -> np.ndarray:
    """Images as one float32 array (n, height, width) in [0, 1]; every image must be `shape`."""
    out = np.empty((len(images), *shape), dtype=np.float32)
    for position, image in enumerate(images):
        array = np.asarray(image, dtype=np.float32)
        if array.shape != shape:
            raise ValueError(f"image {position} is {array.shape}, the model expects {shape}")
        out[position] = array
    return np.clip(out / scale, 0.0, 1.0)
