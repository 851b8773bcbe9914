"""Bring-your-own data and models: the one import path (validated, content-hashed into the store).

``data_import`` reads and checks a user's table or arrays against a ``DataSchema`` and stores it
by content hash under a name the data set registry resolves; ``model_import`` checks a user's
model file (safetensors + zoo spec, or ONNX) against such a data set and stores it with the
data set's membership as ground truth. Every check runs before the first write, so a refused
import leaves the store unchanged.
"""
