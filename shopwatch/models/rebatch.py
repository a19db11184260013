"""Re-batching a static batch-1 OpenVINO export at load time (``detect.model_batch``).

Ultralytics' OpenVINO export of YOLO11 pins the batch twice: the input is ``[1, 3, 640, 640]``, and the attention
block and the head reshape to constants that start with 1 (``[1, 2, 128, 400]``, ``[1, 80, -1]``). ``reshape``
of the input alone therefore fails (or, to ``[-1, 3, 640, 640]``, silently answers one image for eight). Here
every such constant's leading 1 becomes 0 with ``special_zero`` (copy the input's batch), the input is re-shaped
to ``[N, 3, H, W]``, and the result is checked against the original at batch 1 on the same random images before
it is used: equal outputs, or ``ModelUnavailable`` saying why. The model and its ``metadata.yaml`` (``batch: N``,
which makes ultralytics pad short batches) are written to a folder the caller owns.

Measured on this project's 2-core CPU (docs/FLEET.md): 28.7 / 28.8 / 28.4 frames per CPU-second at batch 1 / 8 /
16, so batching gains nothing on a CPU, where the convolutions are already compute-bound; it is for accelerators
(an OpenVINO GPU or NPU). A model exported with ``dynamic=True`` needs none of this (docs/DETECTION.md)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from shopwatch.core.errors import ShopwatchError

log = logging.getLogger(__name__)

CHECK_ATOL = 1e-2  # outputs are box coordinates in pixels and class scores: equal to far better than this


class RebatchError(ShopwatchError):
    """The OpenVINO model cannot be run at the batch asked for."""


def openvino_xml(path: Path) -> Path | None:
    """The IR file of an OpenVINO model (its .xml, or the one .xml in its folder); None if it is not one."""
    if path.is_file():
        return path if path.suffix == ".xml" else None
    found = sorted(path.glob("*.xml")) if path.is_dir() else []
    return found[0] if len(found) == 1 else None


def rebatch(model: Path, batch: int, out_root: Path) -> Path:
    """Write ``model`` (an OpenVINO IR folder or .xml, batch 1) re-shaped to ``batch`` into a folder under
    ``out_root`` and return it (named ``*_openvino_model``, as ultralytics recognises the format by the name).
    Raises ``RebatchError`` naming the model when it is not OpenVINO, not batch 1, or answers otherwise at
    ``batch``."""
    xml = openvino_xml(model)
    if xml is None:
        raise RebatchError(
            f"detect.model_batch {batch} needs an OpenVINO model (a folder with one .xml), found {model};"
            " set detect.model_batch to 1 or export the model with dynamic=True"
        )
    import openvino as ov  # type: ignore[import-untyped]

    core = ov.Core()
    original = core.read_model(xml)
    shape = original.inputs[0].get_partial_shape()
    if shape.rank.get_length() != 4 or shape.is_dynamic or shape[0].get_length() != 1:
        raise RebatchError(f"{xml}: expected a static [1, C, H, W] input to re-batch, found {shape}")
    dims = [d.get_length() for d in shape]
    widened = core.read_model(xml)
    _unpin_reshapes(widened)
    try:
        widened.reshape([batch, *dims[1:]])
    except RuntimeError as exc:
        raise RebatchError(f"{xml} cannot run at batch {batch}: {str(exc).splitlines()[0]}") from None
    _check_same_answers(core, original, widened, [batch, *dims[1:]], xml)
    out_dir = out_root / f"{xml.parent.name.removesuffix('_openvino_model')}_batch{batch}_openvino_model"
    out_dir.mkdir(parents=True, exist_ok=True)
    ov.save_model(widened, out_dir / xml.name, compress_to_fp16=False)
    _write_metadata(xml.parent / "metadata.yaml", out_dir / "metadata.yaml", batch)
    log.info("person model %s re-batched to %d frames per inference", xml.parent, batch)
    return out_dir


def _unpin_reshapes(model: Any) -> int:
    """Reshape targets starting with a literal 1 (the export's batch) copy the input's first dimension instead."""
    from openvino import opset13

    changed = 0
    for op in model.get_ordered_ops():
        if op.get_type_name() != "Reshape":
            continue
        source = op.input_value(1).get_node()
        if source.get_type_name() != "Constant":
            continue
        target = source.get_data()
        if len(target) < 2 or target[0] != 1 or 0 in target[1:]:
            continue
        unpinned = np.concatenate([[0], target[1:]]).astype(target.dtype)
        op.input(1).replace_source_output(opset13.constant(unpinned).output(0))
        op.set_special_zero(True)
        changed += 1
    return changed


def _check_same_answers(core: Any, original: Any, widened: Any, shape: list[int], xml: Path) -> None:
    images = np.random.default_rng(0).random(shape, dtype=np.float32)
    one = core.compile_model(original, "CPU")
    many = core.compile_model(widened, "CPU")
    expected = [np.concatenate([one(images[i : i + 1])[k] for i in range(shape[0])]) for k in range(len(one.outputs))]
    got = many(images)
    for k, want in enumerate(expected):
        out = got[k]
        if out.shape != want.shape or not np.allclose(out, want, atol=CHECK_ATOL, rtol=1e-4):
            worst = float(np.abs(out - want).max()) if out.shape == want.shape else float("nan")
            raise RebatchError(
                f"{xml} at batch {shape[0]} answers differently from batch 1 (output {k}: shape {out.shape} vs"
                f" {want.shape}, largest difference {worst:g}); set detect.model_batch to 1"
            )


def _write_metadata(source: Path, target: Path, batch: int) -> None:
    """Ultralytics reads the batch from metadata.yaml: it splits larger batches and pads shorter ones to it."""
    data: dict[str, Any] = yaml.safe_load(source.read_text()) if source.exists() else {}
    data["batch"] = batch
    if isinstance(data.get("args"), dict):
        data["args"]["batch"] = batch
    target.write_text(yaml.safe_dump(data, sort_keys=False))
