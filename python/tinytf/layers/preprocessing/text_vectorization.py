"""``TextVectorization``: strings to token indices or bag-of-token vectors,
with Keras' standardization, splitting, vocabulary order and index layout.

tinytf has no string tensors, so the layer runs on Python strings (a list,
a numpy str/bytes/object array, or one string) before the model:
``x = vectorize(texts)`` returns a tensor for ``fit``. Callables given as
``standardize`` or ``split`` take one Python string (and return a string or
a list of tokens)."""
import os
import re
import string
from collections import Counter

import numpy as np

from ..._tensor import constant
from ..base import Layer

MASK, OOV = "", "[UNK]"
_PUNCTUATION = re.compile("[" + re.escape(string.punctuation) + "]")
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")
_MODES = ("int", "multi_hot", "count", "tf_idf")


def _texts(data, what):
    """A 2-D numpy object array of Python strings from the accepted inputs."""
    if isinstance(data, (str, bytes)):
        data = [data]
    a = np.asarray(data, dtype=object)
    if a.ndim == 0 or a.ndim > 2:
        raise ValueError(f"{what}: expected strings of shape (batch,) or (batch, k). Received shape {a.shape}")
    out = np.empty(a.shape, dtype=object)
    for i, s in np.ndenumerate(a):
        if isinstance(s, (bytes, np.bytes_)):
            s = bytes(s).decode("utf-8")
        elif not isinstance(s, str):
            raise TypeError(f"{what}: expected strings, got {type(s).__name__} ({s!r})")
        out[i] = str(s)
    return out if out.ndim == 2 else out[:, None]


def _plain(v):
    return v if v is None or isinstance(v, (str, os.PathLike)) else np.asarray(v).tolist()


class TextVectorization(Layer):
    """Keras' TextVectorization: standardize -> split -> ngrams -> vocabulary
    lookup. Index layout as Keras: output_mode 'int' reserves 0 for padding ''
    and 1 for out-of-vocabulary '[UNK]'; the other modes use index 0 for OOV.
    ``adapt`` orders the vocabulary by frequency, ties by reverse string order."""

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 output_mode="int", output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None, **kwargs):
        kwargs.pop("vocabulary_size", None)
        kwargs.pop("has_input_vocabulary", None)
        super().__init__(name=name, **kwargs)
        if not (standardize is None or callable(standardize) or standardize in _STANDARDIZE):
            raise ValueError(f"TextVectorization: standardize must be one of {_STANDARDIZE}, None or a callable. "
                             f"Received: standardize={standardize!r}")
        if not (split is None or callable(split) or split in _SPLIT):
            raise ValueError(f"TextVectorization: split must be one of {_SPLIT}, None or a callable. "
                             f"Received: split={split!r}")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if output_mode not in _MODES:
            raise ValueError(f"TextVectorization: output_mode must be one of {_MODES}. "
                             f"Received: output_mode={output_mode!r}")
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)
        if not (ngrams is None or (isinstance(ngrams, int) and ngrams > 0) or
                (isinstance(ngrams, tuple) and ngrams and all(isinstance(n, int) and n > 0 for n in ngrams))):
            raise ValueError(f"TextVectorization: ngrams must be None, a positive integer or a tuple of them. "
                             f"Received: ngrams={ngrams!r}")
        if output_sequence_length is not None:
            if output_mode != "int":
                raise ValueError("TextVectorization: output_sequence_length must not be set if output_mode is not "
                                 f"'int'. Received: output_sequence_length={output_sequence_length}")
            if isinstance(output_sequence_length, bool) or not isinstance(output_sequence_length, int) or \
                    output_sequence_length < 0:
                raise ValueError("TextVectorization: output_sequence_length must be None or a non-negative integer. "
                                 f"Received: output_sequence_length={output_sequence_length!r}")
        if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
                                       or max_tokens <= 1):
            raise ValueError(f"TextVectorization: max_tokens must be None or an integer > 1. "
                             f"Received: max_tokens={max_tokens!r}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError("TextVectorization: pad_to_max_tokens=True needs max_tokens")
        if sparse or ragged:
            raise ValueError("TextVectorization: sparse and ragged outputs are not supported by tinytf")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError("TextVectorization: idf_weights should only be set if output_mode is 'tf_idf'")
        self.max_tokens, self.standardize, self.split = max_tokens, standardize, split
        self.ngrams = ngrams
        self._widths = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self.output_mode, self.output_sequence_length = output_mode, output_sequence_length
        self.pad_to_max_tokens, self.encoding = bool(pad_to_max_tokens), encoding
        self._special = [MASK, OOV] if output_mode == "int" else [OOV]
        self._tokens = []  # learnt or given tokens, without the special ones
        self._index = {}
        self.idf_weights = None
        self.input_vocabulary, self.input_idf_weights = vocabulary, idf_weights
        self._has_input_vocabulary = vocabulary is not None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self.built = True

    # --- text to tokens ----------------------------------------------------------------
    def _tokenize(self, text):
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            text = text.lower()
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = _PUNCTUATION.sub("", text)
        if callable(self.standardize):
            text = self.standardize(text)
        if self.split == "whitespace":
            return text.split()
        if self.split == "character":
            return list(text)
        if callable(self.split):
            return list(self.split(text))
        return [text]

    def _rows(self, data, what):
        """One token list per row of the input."""
        a = _texts(data, what)
        if self.split is None:
            rows = [[self._tokenize(s)[0] for s in row] for row in a]
        elif a.shape[1] != 1:
            raise ValueError(f"{what}: when splitting strings the input must have shape (batch,) or (batch, 1). "
                             f"Received shape {a.shape}")
        else:
            rows = [self._tokenize(row[0]) for row in a]
        if self._widths:
            rows = [[" ".join(t[i:i + n]) for n in self._widths for i in range(len(t) - n + 1)] for t in rows]
        return rows

    # --- vocabulary ------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Learns the vocabulary (and idf weights for 'tf_idf') from strings or
        an iterable of batches of strings."""
        if self._has_input_vocabulary:
            raise ValueError(f"TextVectorization '{self.name}': cannot adapt after setting a vocabulary with "
                             "`vocabulary` or set_vocabulary()")
        if isinstance(data, (str, bytes, list, tuple, np.ndarray)):
            batches = [data]
        elif hasattr(data, "__iter__"):  # batches, or (x, y) pairs of which x is taken
            batches = (b[0] if isinstance(b, tuple) else b for b in data)
        else:
            raise TypeError(f"TextVectorization.adapt: expected strings or an iterable of batches of strings. "
                            f"Received: {type(data).__name__}")
        counts, docs, n_docs = Counter(), Counter(), 0
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            for row in self._rows(batch, "TextVectorization.adapt"):
                counts.update(row)
                if self.output_mode == "tf_idf":
                    docs.update(set(row))
                    n_docs += 1
        counts.pop(MASK, None)
        counts.pop(OOV, None)
        ordered = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
        if self.max_tokens is not None:
            ordered = ordered[:self.max_tokens - len(self._special)]
        self._set_tokens([t for t, _ in ordered])
        if self.output_mode == "tf_idf":
            idf = np.log(1 + n_docs / (1 + np.array([docs[t] for t in self._tokens], np.float64)))
            self._set_idf(idf, front=np.mean(idf) if len(idf) else 0.0)

    def _set_tokens(self, tokens):
        self._tokens = list(tokens)
        self._index = {t: i for i, t in enumerate(self._special + self._tokens)}
        if self.output_mode == "int":
            self._index.pop(OOV)  # OOV is the default, never a key

    def _set_idf(self, idf, front):
        back = self.max_tokens - len(self._special) - len(idf) if self.pad_to_max_tokens else 0
        self.idf_weights = np.concatenate([np.full(len(self._special), front), idf, np.zeros(max(back, 0))]) \
            .astype(np.float32)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary: a list of tokens (the special tokens first, or
        not at all) or the path of a text file with one token per line."""
        if isinstance(vocabulary, (str, os.PathLike)):
            vocabulary = self._read_vocabulary(vocabulary)
        vocab = [v.decode(self.encoding) if isinstance(v, bytes) else str(v) for v in np.asarray(vocabulary).ravel()]
        if not vocab:
            raise ValueError("TextVectorization: cannot set an empty vocabulary")
        has_special = vocab[:len(self._special)] == self._special
        tokens = vocab[len(self._special):] if has_special else vocab
        repeated = sorted(t for t, c in Counter(tokens).items() if c > 1)
        if repeated:
            raise ValueError(f"TextVectorization: the vocabulary has repeated terms: {repeated}")
        if MASK in tokens or (OOV in tokens and self.output_mode != "int"):
            raise ValueError(f"TextVectorization: the reserved tokens {self._special} may only appear at the start "
                             "of the vocabulary, in that order")
        if self.max_tokens is not None and len(self._special) + len(tokens) > self.max_tokens:
            raise ValueError(f"TextVectorization: the vocabulary size {len(self._special) + len(tokens)} exceeds "
                             f"max_tokens={self.max_tokens}")
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError("TextVectorization: idf_weights must be set if output_mode is 'tf_idf'")
            idf = np.asarray(idf_weights, np.float64).ravel()
            if len(idf) != len(vocab):
                raise ValueError(f"TextVectorization: idf_weights must be as long as the vocabulary. Received "
                                 f"{len(idf)} weights for {len(vocab)} tokens")
        elif idf_weights is not None:
            raise ValueError("TextVectorization: idf_weights should only be set if output_mode is 'tf_idf'")
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            # Without special tokens given, their weight is the mean one (as Keras).
            if has_special:
                self._set_idf(idf[len(self._special):], front=idf[0])
            else:
                self._set_idf(idf, front=np.mean(idf))
        self._has_input_vocabulary = True

    def get_vocabulary(self, include_special_tokens=True):
        return (self._special if include_special_tokens else []) + list(self._tokens)

    def vocabulary_size(self):
        return len(self._special) + len(self._tokens)

    def save_assets(self, dir_path):
        """Writes the vocabulary to ``dir_path/vocabulary.txt``, one token per line (Keras' asset)."""
        with open(os.path.join(dir_path, "vocabulary.txt"), "w", encoding=self.encoding) as f:
            f.write("\n".join(self.get_vocabulary()))

    def load_assets(self, dir_path):
        """Reads ``dir_path/vocabulary.txt``; in 'tf_idf' mode the idf weights
        come from load_own_variables, called before."""
        vocab = self._read_vocabulary(os.path.join(dir_path, "vocabulary.txt"))
        adapted = not self._has_input_vocabulary
        self.set_vocabulary(vocab, None if self.output_mode != "tf_idf" else self.idf_weights[:len(vocab)])
        self._has_input_vocabulary = not adapted

    def _read_vocabulary(self, path):
        if not os.path.isfile(path):
            raise ValueError(f"TextVectorization: vocabulary file {path} does not exist")
        with open(path, encoding=self.encoding) as f:
            lines = f.read().splitlines()
        while len(lines) > len(self._special) and lines[-1] == "":  # trailing blank lines
            lines.pop()
        return lines

    def save_own_variables(self, store):
        if self.output_mode == "tf_idf":
            store["idf_weights"] = self.idf_weights

    def load_own_variables(self, store):
        if self.output_mode == "tf_idf":
            self.idf_weights = np.asarray(store["idf_weights"], np.float32)

    # --- call --------------------------------------------------------------------------
    def __call__(self, inputs, *args, **kwargs):
        if not isinstance(inputs, (str, bytes, list, tuple, np.ndarray)):
            raise TypeError(f"TextVectorization '{self.name}': expected Python strings (a list, a numpy array of "
                            f"str/bytes, or one string); tinytf has no string tensors. Received: {type(inputs)}")
        return self.call(inputs)

    def call(self, inputs):
        rows = self._rows(inputs, f"TextVectorization '{self.name}'")
        if self.output_mode == "int":
            ids = [[self._index.get(t, 1) for t in row] for row in rows]
            length = self.output_sequence_length
            if length is None:
                length = max((len(r) for r in ids), default=0)
            out = np.zeros((len(ids), length), np.int64)
            for i, r in enumerate(ids):
                r = r[:length]
                out[i, :len(r)] = r
        else:
            if not self._tokens and not self.pad_to_max_tokens and not self._has_input_vocabulary:
                raise ValueError(f"TextVectorization '{self.name}': output_mode='{self.output_mode}' needs a "
                                 "vocabulary: call adapt() or set_vocabulary() first")
            depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
            out = np.zeros((len(rows), depth), np.float32)
            for i, row in enumerate(rows):
                ids = [self._index.get(t, 0) for t in row if t != MASK]
                out[i] = np.bincount(np.asarray(ids, np.int64), minlength=depth)[:depth]
            if self.output_mode == "multi_hot":
                np.minimum(out, 1, out=out)
            elif self.output_mode == "tf_idf":
                out *= self.idf_weights[:depth]
        if isinstance(inputs, str):
            out = out[0]
        return constant(out)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        return (input_shape[0], self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size())

    def get_config(self):
        return {**super().get_config(), "max_tokens": self.max_tokens, "standardize": self.standardize,
                "split": self.split, "ngrams": self.ngrams, "output_mode": self.output_mode,
                "output_sequence_length": self.output_sequence_length, "pad_to_max_tokens": self.pad_to_max_tokens,
                "sparse": False, "ragged": False,
                "vocabulary": _plain(self.input_vocabulary), "idf_weights": _plain(self.input_idf_weights),
                "encoding": self.encoding, "vocabulary_size": self.vocabulary_size()}
