"""A small Transformer encoder for text classification (after Keras' "Text
classification with Transformer" example) on the movie-review data: token +
position embedding -> MultiHeadAttention + feed-forward block with residuals
and LayerNormalization -> GlobalAveragePooling1D -> Dense."""
import os
import time
from pathlib import Path

import numpy as np

# Use the repository's shared data folder as the dataset cache when it is there.
shared = Path(__file__).resolve().parents[2] / "shared" / "data"
if shared.is_dir():
    os.environ.setdefault("TINYTF_DATA_DIR", str(shared))

import tinytf  # noqa: E402
from tinytf import layers  # noqa: E402

vocab_size = 20000  # only the top 20k words
maxlen = 200  # keep the last 200 words of each review
embed_dim = 32  # embedding size of each token
num_heads = 2
ff_dim = 32  # hidden units of the feed-forward network


def pad(sequences, length):
    """Keras' pad_sequences defaults: zeros in front, long sequences keep their end."""
    out = np.zeros((len(sequences), length), np.int32)
    for i, s in enumerate(sequences):
        s = s[-length:]
        out[i, length - len(s):] = s
    return out


class TokenAndPositionEmbedding(layers.Layer):
    """Embedding lookups of the tokens and of their positions, summed. Index 0
    is padding: the output carries a mask (as Embedding(mask_zero=True)) that
    attention and pooling honour."""

    def __init__(self, maxlen, vocab_size, embed_dim, **kwargs):
        super().__init__(**kwargs)
        init = tinytf.initializers.RandomUniform(-0.05, 0.05)
        self.token_embeddings = self.add_weight("token_embeddings", (vocab_size, embed_dim), initializer=init)
        self.position_embeddings = self.add_weight("position_embeddings", (maxlen, embed_dim), initializer=init)

    def call(self, x):
        positions = np.arange(x.shape[-1])
        return tinytf.gather(self.token_embeddings, x) + tinytf.gather(self.position_embeddings, positions)

    def compute_mask(self, x, mask=None):
        return tinytf.not_equal(x, 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.token_embeddings.shape[-1],)


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = tinytf.models.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)
        self.supports_masking = True  # the padding mask passes through to the pooling

    def call(self, inputs, training=None):
        attn_output = self.att(inputs, inputs, training=training)  # uses the inputs' padding mask
        out1 = self.layernorm1(inputs + self.dropout1(attn_output, training=training))
        ffn_output = self.ffn(out1)
        return self.layernorm2(out1 + self.dropout2(ffn_output, training=training))

    def compute_output_shape(self, input_shape):
        return input_shape


(x_train, y_train), (x_test, y_test) = tinytf.datasets.imdb.load_data(num_words=vocab_size)
print(f"{len(x_train)} training and {len(x_test)} test reviews")
x_train, x_test = pad(x_train, maxlen), pad(x_test, maxlen)

tinytf.utils.set_random_seed(0)
inputs = layers.Input(shape=(maxlen,), dtype="int32")
x = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)(inputs)
x = TransformerBlock(embed_dim, num_heads, ff_dim)(x)
x = layers.GlobalAveragePooling1D()(x)
x = layers.Dropout(0.1)(x)
x = layers.Dense(20, activation="relu")(x)
x = layers.Dropout(0.1)(x)
outputs = layers.Dense(2, activation="softmax")(x)
model = tinytf.Model(inputs=inputs, outputs=outputs)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.summary()

start = time.perf_counter()
model.fit(x_train, y_train, batch_size=32, epochs=6, validation_split=0.1)
print(f"trained in {time.perf_counter() - start:.1f} s")
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test loss {loss:.4f} - test accuracy {accuracy:.4f}")
