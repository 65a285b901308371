"""``tinytf.layers``: Keras layers (channels-last, Keras weight layouts)."""
from .base import Input, InputLayer, KerasTensor, Layer
from .conv import Conv2D
from .core import Activation, Dense, Dropout, Flatten, Reshape
from .merging import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add, concatenate
from .normalization import BatchNormalization, LayerNormalization
from .pooling import (AveragePooling2D, AvgPool2D, GlobalAveragePooling2D, GlobalAvgPool2D, GlobalMaxPool2D,
                      GlobalMaxPooling2D, MaxPool2D, MaxPooling2D)
from .preprocessing import (CenterCrop, Normalization, RandomBrightness, RandomContrast, RandomCrop, RandomFlip,
                            RandomRotation, RandomTranslation, RandomZoom, Rescaling, Resizing, TextVectorization)

Convolution2D = Conv2D
