"""Media types the range stores artifacts under."""

from __future__ import annotations

MEDIA_MODEL = "application/vnd.leakrange.model+safetensors"
MEDIA_TENSORS = "application/vnd.leakrange.tensors+safetensors"
MEDIA_JSON = "application/json"
MEDIA_HTML = "text/html"
MEDIA_OCTET_STREAM = "application/octet-stream"
MEDIA_ONNX = "application/vnd.leakrange.model+onnx"
# A model behind an inference server (target.endpoint): where it answers, no secret.
MEDIA_ENDPOINT = "application/vnd.leakrange.endpoint+json"
