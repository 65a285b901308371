"""``tinytf.layers``: Keras layers (channels-last, Keras weight layouts)."""
from .attention import Attention, MultiHeadAttention
from .base import Input, InputLayer, KerasTensor, Layer
from .conv import Conv1D, Conv2D, Conv2DTranspose, Convolution1D, Convolution2DTranspose
from .core import Activation, Dense, Dropout, Flatten, Reshape
from .embedding import Embedding, Masking
from .merging import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add, concatenate
from .normalization import BatchNormalization, LayerNormalization
from .pooling import (AveragePooling1D, AveragePooling2D, AvgPool1D, AvgPool2D, GlobalAveragePooling1D,
                      GlobalAveragePooling2D, GlobalAvgPool1D, GlobalAvgPool2D, GlobalMaxPool1D, GlobalMaxPool2D,
                      GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPool1D, MaxPool2D, MaxPooling1D, MaxPooling2D)
from .preprocessing import (CenterCrop, Normalization, RandomBrightness, RandomContrast, RandomCrop, RandomFlip,
                            RandomRotation, RandomTranslation, RandomZoom, Rescaling, Resizing, TextVectorization)
from .reshaping import Cropping2D, UpSampling2D, ZeroPadding2D
from .rnn import GRU, LSTM, RNN, Bidirectional, GRUCell, LSTMCell, SimpleRNN, SimpleRNNCell, TimeDistributed

Convolution2D = Conv2D
