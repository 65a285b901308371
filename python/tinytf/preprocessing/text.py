"""``tinytf.preprocessing.text``: Keras' (legacy) Tokenizer and text_to_word_sequence."""
import json
from collections import OrderedDict, defaultdict

import numpy as np

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'


def text_to_word_sequence(input_text, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """Words of a text: lowercased, every character of `filters` turned into
    `split`, split on it, empty pieces dropped."""
    if lower:
        input_text = input_text.lower()
    input_text = input_text.translate(str.maketrans({c: split for c in filters}))
    return [w for w in input_text.split(split) if w]


class Tokenizer:
    """Word (or character) index built from texts, as keras.preprocessing.text.Tokenizer.

    Indices start at 1 in order of decreasing frequency (ties: first seen
    first), after `oov_token` (index 1) when given. Only the words with an
    index below `num_words` are used when converting texts; the word index
    itself keeps every word."""

    def __init__(self, num_words=None, filters=DEFAULT_FILTERS, lower=True, split=" ", char_level=False,
                 oov_token=None, analyzer=None, document_count=0, **kwargs):
        if kwargs:
            raise TypeError(f"Tokenizer: unrecognized keyword arguments: {sorted(kwargs)}")
        if num_words is not None and (isinstance(num_words, bool) or not isinstance(num_words, int)
                                      or num_words < 0):
            raise ValueError(f"Tokenizer: num_words must be None or a non-negative integer, got {num_words!r}")
        self.num_words, self.filters, self.lower, self.split = num_words, filters, lower, split
        self.char_level, self.oov_token, self.analyzer = char_level, oov_token, analyzer
        self.document_count = document_count
        self.word_counts = OrderedDict()
        self.word_docs = defaultdict(int)
        self.index_docs = defaultdict(int)
        self.word_index, self.index_word = {}, {}

    def _words(self, text):
        if self.char_level or isinstance(text, list):
            if self.lower:
                text = [t.lower() for t in text] if isinstance(text, list) else text.lower()
            return list(text)
        if self.analyzer is not None:
            return self.analyzer(text)
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts):
        """Counts the words of `texts` (strings, or lists of words) and rebuilds word_index."""
        if isinstance(texts, str):
            raise TypeError("Tokenizer.fit_on_texts: expected a list of texts, got one string")
        for text in texts:
            self.document_count += 1
            seq = self._words(text)
            for w in seq:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in set(seq):
                self.word_docs[w] += 1
        ordered = sorted(self.word_counts.items(), key=lambda wc: wc[1], reverse=True)  # stable: ties keep order
        vocab = ([] if self.oov_token is None else [self.oov_token]) + [w for w, _ in ordered]
        self.word_index = {w: i for i, w in enumerate(vocab, 1)}
        self.index_word = {i: w for w, i in self.word_index.items()}
        self.index_docs = defaultdict(int, {self.word_index[w]: c for w, c in self.word_docs.items()})

    def fit_on_sequences(self, sequences):
        """Document frequencies from index sequences (needed for 'tfidf' without fit_on_texts)."""
        self.document_count += len(sequences)
        for seq in sequences:
            for i in set(seq):
                self.index_docs[i] += 1

    def _index_of(self, word):
        oov = self.word_index.get(self.oov_token) if self.oov_token is not None else None
        i = self.word_index.get(word)
        if i is None or (self.num_words and i >= self.num_words):
            return oov
        return i

    def texts_to_sequences(self, texts):
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts):
        for text in texts:
            yield [i for i in (self._index_of(w) for w in self._words(text)) if i is not None]

    def sequences_to_texts(self, sequences):
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences):
        oov = self.word_index.get(self.oov_token) if self.oov_token is not None else None
        for seq in sequences:
            words = []
            for i in seq:
                w = self.index_word.get(i)
                if w is None or (self.num_words and i >= self.num_words):
                    w = None if oov is None else self.index_word[oov]
                if w is not None:
                    words.append(w)
            yield " ".join(words)

    def texts_to_matrix(self, texts, mode="binary"):
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences, mode="binary"):
        """(len(sequences), num_words) matrix; mode 'binary', 'count', 'freq' or
        'tfidf' (tf = 1 + log(count), idf = log(1 + docs / (1 + doc count)))."""
        if mode not in ("binary", "count", "freq", "tfidf"):
            raise ValueError(f"Tokenizer: unknown vectorization mode {mode!r} (use 'binary', 'count', 'freq' or "
                             "'tfidf')")
        if self.num_words:
            num_words = self.num_words
        elif self.word_index:
            num_words = len(self.word_index) + 1
        else:
            raise ValueError("Tokenizer: specify a dimension (num_words) or fit on some text data first")
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Tokenizer: fit on some data before using tfidf mode")
        x = np.zeros((len(sequences), num_words))
        for row, seq in enumerate(sequences):
            ids = np.asarray([j for j in seq if 0 <= j < num_words], np.int64)
            if not len(ids):
                continue
            js, counts = np.unique(ids, return_counts=True)
            if mode == "count":
                x[row, js] = counts
            elif mode == "freq":
                x[row, js] = counts / len(seq)
            elif mode == "binary":
                x[row, js] = 1
            else:
                docs = np.array([self.index_docs.get(int(j), 0) for j in js])
                x[row, js] = (1 + np.log(counts)) * np.log(1 + self.document_count / (1 + docs))
        return x

    def get_config(self):
        return {"num_words": self.num_words, "filters": self.filters, "lower": self.lower, "split": self.split,
                "char_level": self.char_level, "oov_token": self.oov_token, "document_count": self.document_count,
                "word_counts": json.dumps(self.word_counts), "word_docs": json.dumps(self.word_docs),
                "index_docs": json.dumps(self.index_docs), "index_word": json.dumps(self.index_word),
                "word_index": json.dumps(self.word_index)}

    def to_json(self, **kwargs):
        return json.dumps({"class_name": self.__class__.__name__, "config": self.get_config()}, **kwargs)


def tokenizer_from_json(json_string):
    """A Tokenizer from Tokenizer.to_json() output."""
    config = json.loads(json_string).get("config")
    state = {k: json.loads(config.pop(k)) for k in ("word_counts", "word_docs", "index_docs", "word_index",
                                                    "index_word")}
    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = OrderedDict(state["word_counts"])
    tokenizer.word_docs = defaultdict(int, state["word_docs"])
    tokenizer.index_docs = defaultdict(int, {int(k): v for k, v in state["index_docs"].items()})
    tokenizer.word_index = state["word_index"]
    tokenizer.index_word = {int(k): v for k, v in state["index_word"].items()}
    return tokenizer
