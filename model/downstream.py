"""CroCo fine-tuned on a downstream task: the pretrained backbone under a task head (Sec. 3.4, 4.4).

- monocular: one image through the encoder, the paper's main setting; the head gets the
  encoder's tokens and the decoder is dropped (it would get no gradient).
- binocular: both images through the encoder in one batch, the decoder cross-attends from
  image 1 to image 2, and the head gets the decoder's tokens (image-level heads) or encoder then
  decoder blocks (DPT), as the official CroCoDownstreamBinocular (reference section 11).
The pretraining-only parts, mask token and pixel head, are never built. Backbone parameters keep
their CroCoNet names under `backbone.`, so pretrained state dicts load by name.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from safetensors import safe_open
from torch import Tensor

from .croco import CroCoConfig, CroCoNet, preset_config
from .croco_weights import load_croco_checkpoint, load_croco_weights
from .task_catalog import HEAD_MODES


class CroCoBackbone(CroCoNet):
    """CroCoNet without the mask token and pixel head (pretraining only). Use encode/decode;
    the pretraining forward, optimizer and FLOP helpers do not apply."""

    def _set_mask_token(self, cfg: CroCoConfig) -> None:
        self.mask_token = None

    def _set_prediction_head(self, cfg: CroCoConfig) -> None:
        self.prediction_head = None

    def drop_decoder(self) -> None:
        """For monocular use: the decoder is never run, so it holds no parameters."""
        self.decoder_embed = self.dec_blocks = self.dec_norm = None
        self.dec_pos_embed = None

    @property
    def has_decoder(self) -> bool:
        return self.dec_blocks is not None


def _backbone_from(net: CroCoNet, mode: str) -> CroCoBackbone:
    """A CroCoBackbone holding net's weights (shared, not copied), built on meta so nothing is initialised twice."""
    with torch.device("meta"):
        backbone = CroCoBackbone(net.config)
    if mode == "monocular":
        backbone.drop_decoder()
    sd = net.state_dict()
    backbone.load_state_dict({k: sd[k] for k in backbone.state_dict()}, strict=True, assign=True)
    return backbone


def _export_contents(path: Path) -> str | None:
    """'encoder' or 'full' for a `save_croco_weights` file; None when unreadable (the loader says why)."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return (f.metadata() or {}).get("contents")
    except Exception:  # noqa: BLE001 - not a safetensors file, or no file: load_croco_weights raises the clear error
        return None


class CroCoDownstream(nn.Module):
    """A CroCo backbone and a task head; `forward(img1, img2=None)` returns the head's output.

    In monocular mode the backbone's decoder is dropped (in place) if it has one.
    """

    def __init__(self, backbone: CroCoBackbone, head: nn.Module, mode: str = "monocular") -> None:
        super().__init__()
        if mode not in HEAD_MODES:
            raise ValueError(f"mode must be one of {HEAD_MODES}, got {mode!r}")
        if mode == "monocular" and backbone.has_decoder:
            backbone.drop_decoder()
        if mode == "binocular" and not backbone.has_decoder:
            raise ValueError("binocular mode needs the backbone's decoder")
        self.backbone, self.head, self.mode = backbone, head, mode

    @classmethod
    def from_init(
        cls,
        init: str,
        head: nn.Module | Callable[[CroCoConfig], nn.Module],
        mode: str = "monocular",
        config: CroCoConfig | str | None = None,
    ) -> CroCoDownstream:
        """Build from an initialisation, the paper's rows (Fig. 3a):

        - "random": fresh weights; `config` a CroCoConfig or a preset name (default: croco-v1, ViT-B/16);
        - "croco:PATH": an official CroCo v1/v2 checkpoint or one of our pretraining checkpoints;
        - "weights:PATH": our safetensors export (`save_croco_weights`); an encoder-only export
          (e.g. MAE-style) serves monocular models only.
        `head` may be a function of the backbone's config that builds it, since with a checkpoint
        the widths are only known once it is read.
        """
        if mode not in HEAD_MODES:
            raise ValueError(f"mode must be one of {HEAD_MODES}, got {mode!r}")
        kind, _, path = init.partition(":")
        if kind != "random" and config is not None:
            raise ValueError(f"init {init!r} takes its config from the file; config is for 'random' only")
        if kind == "random":
            cfg = preset_config(config) if isinstance(config, str) else config or CroCoConfig()
            backbone = CroCoBackbone(cfg)
        elif kind == "croco" and path:
            backbone = _backbone_from(load_croco_checkpoint(path), mode)
        elif kind == "weights" and path:
            encoder_only = _export_contents(Path(path)) == "encoder"
            if encoder_only and mode == "binocular":
                raise ValueError(
                    f"{path} holds the encoder only; binocular fine-tuning needs the pretrained "
                    "decoder too (export with encoder_only=False, or use a 'croco:' checkpoint)"
                )
            with warnings.catch_warnings():  # monocular never uses the decoder the loader initialises
                warnings.filterwarnings("ignore", message=".*holds the encoder only.*")
                backbone = _backbone_from(load_croco_weights(path), mode)
        else:
            raise ValueError(f"init must be 'random', 'croco:PATH' or 'weights:PATH', got {init!r}")
        if not isinstance(head, nn.Module):
            head = head(backbone.config)
        return cls(backbone, head, mode)

    @staticmethod
    def token_dim(config: CroCoConfig, mode: str) -> int:
        """Width of the tokens an image-level head receives in this mode."""
        return config.dec_embed_dim if mode == "binocular" else config.enc_embed_dim

    def features(self, img1: Tensor, img2: Tensor | None = None) -> list[Tensor]:
        """Image 1's tokens [B, N, C] after every block: encoder, then (binocular) decoder blocks.

        Only the last encoder and the last decoder entry carry their final norm, as official.
        """
        if self.mode == "monocular":
            if img2 is not None:
                raise ValueError("a monocular model takes one image")
            feats, _ = self.backbone.encode(img1, return_all_blocks=True)
            return feats
        if img2 is None:
            raise ValueError("a binocular model takes two images")
        B = img1.size(0)
        enc, pos = self.backbone.encode(torch.cat([img1, img2]), return_all_blocks=True)  # (2B, N, Ce) each
        dec = self.backbone.decode(enc[-1][:B], pos[:B], None, enc[-1][B:], pos[B:], return_all_blocks=True)
        return [e[:B] for e in enc] + dec

    def forward(self, img1: Tensor, img2: Tensor | None = None, top: Tensor | None = None) -> Any:
        """The head's output on the backbone's tokens (see heads.py for what each head takes).

        ``top`` (monocular, image-level heads): a second crop of the same person (``top_crop``);
        its tokens are concatenated to image 1's channel-wise, so a pooled head sees both means.
        """
        feats = self.features(img1, img2)
        if getattr(self.head, "all_blocks", False):
            return self.head(feats)
        if top is not None:
            return self.head(torch.cat([feats[-1], self.features(top)[-1]], dim=-1))
        return self.head(feats[-1])

    # --- optimisation ---------------------------------------------------------

    def _layer_id(self, name: str) -> int:
        """Depth of a backbone parameter: 0 the patch embedding, then encoder blocks, then decoder
        blocks; the final norms go with the last block, decoder_embed with the first decoder block."""
        cfg = self.backbone.config
        part, _, rest = name.partition(".")
        block = int(rest.split(".")[0]) if part in ("enc_blocks", "dec_blocks") else 0
        ids = {
            "patch_embed": 0,
            "enc_blocks": block + 1,
            "enc_norm": cfg.enc_depth,
            "decoder_embed": cfg.enc_depth + 1,
            "dec_blocks": cfg.enc_depth + 1 + block,
            "dec_norm": cfg.enc_depth + cfg.dec_depth,
        }
        if part not in ids:
            raise ValueError(f"no layer for backbone parameter {name!r}")
        return ids[part]

    def configure_optimizers(
        self,
        lr: float,
        weight_decay: float,
        backbone_lr_scale: float = 1.0,
        layer_decay: float = 1.0,
        betas: tuple[float, float] = (0.9, 0.95),
    ) -> torch.optim.AdamW:
        """AdamW with one group per layer and decay kind: matrices decayed, 1-D parameters (biases,
        norms) not. The head trains at lr; backbone layer l at lr * backbone_lr_scale *
        layer_decay ** (top - l), top being the head's depth (MAE's layer-wise decay; 1.0 = off).
        Each group records its `lr_scale`, for schedulers that set lr = base_lr * lr_scale.
        """
        cfg = self.backbone.config
        top = cfg.enc_depth + 1 + (cfg.dec_depth if self.backbone.has_decoder else 0)
        groups: dict[tuple[int, bool], dict] = {}
        named = [(f"backbone.{n}", p, self._layer_id(n)) for n, p in self.backbone.named_parameters()]
        named += [(f"head.{n}", p, top) for n, p in self.head.named_parameters()]
        for name, p, layer in named:
            if not p.requires_grad:
                continue
            decay = p.ndim >= 2
            if (layer, decay) not in groups:
                scale = 1.0 if name.startswith("head.") else backbone_lr_scale * layer_decay ** (top - layer)
                groups[layer, decay] = {
                    "params": [],
                    "weight_decay": weight_decay if decay else 0.0,
                    "lr": lr * scale,
                    "lr_scale": scale,
                }
            groups[layer, decay]["params"].append(p)
        params = [p for g in groups.values() for p in g["params"]]
        fused = bool(params) and all(p.is_cuda for p in params)
        return torch.optim.AdamW(list(groups.values()), lr=lr, betas=betas, fused=fused)
