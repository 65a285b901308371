"""``tinytf.preprocessing.sequence``: padding variable-length sequences."""
import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pads (or truncates) each sequence to `maxlen` and stacks them into an
    array of shape (len(sequences), maxlen) + element shape. Keras defaults:
    padding and truncation at the start ('pre'); maxlen None means the longest."""
    if not hasattr(sequences, "__len__"):
        raise ValueError("pad_sequences: `sequences` must be iterable")
    if padding not in ("pre", "post"):
        raise ValueError(f'pad_sequences: padding type "{padding}" not understood (use "pre" or "post")')
    if truncating not in ("pre", "post"):
        raise ValueError(f'pad_sequences: truncating type "{truncating}" not understood (use "pre" or "post")')
    lengths, sample_shape = [], ()
    for s in sequences:
        if not hasattr(s, "__len__"):
            raise ValueError(f"pad_sequences: `sequences` must be a list of iterables. Found non-iterable: {s!r}")
        lengths.append(len(s))
        if len(s) and not sample_shape:
            sample_shape = np.asarray(s).shape[1:]
    if maxlen is None:
        maxlen = max(lengths, default=0)
    elif isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be None or a non-negative integer, got {maxlen!r}")
    is_str = np.issubdtype(np.dtype(dtype), np.str_) if dtype is not object else True
    if isinstance(value, str) and not is_str:
        raise ValueError(f"pad_sequences: dtype {dtype} is not compatible with the padding value {value!r}; use "
                         "dtype=object for variable-length strings")
    x = np.full((len(sequences), int(maxlen)) + tuple(sample_shape), value, dtype=dtype)
    if maxlen == 0:
        return x
    for i, s in enumerate(sequences):
        if not len(s):
            continue
        trunc = np.asarray(s[-maxlen:] if truncating == "pre" else s[:maxlen], dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ValueError(f"pad_sequences: the elements of sequence {i} have shape {trunc.shape[1:]}, "
                             f"expected {sample_shape} like the others")
        if padding == "post":
            x[i, :len(trunc)] = trunc
        else:
            x[i, maxlen - len(trunc):] = trunc
    return x
