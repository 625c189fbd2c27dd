"""Tiny random Segment Anything models (SAM and SAM 2) written as a model-store folder.

Built from configs here, seeded, saved as safetensors with their processor config: what the
model manager would have installed, a few hundred kilobytes instead of hundreds of megabytes.
"""

from __future__ import annotations

from pathlib import Path

from gptstudio.models.store import Store, StoredFile, StoredModel


def save_tiny_sam(folder: Path, family: str = "sam", seed: int = 0) -> Path:
    import torch
    import transformers as t

    torch.manual_seed(seed)
    if family == "sam":
        config = t.SamConfig(
            vision_config=t.SamVisionConfig(
                hidden_size=32, num_hidden_layers=2, num_attention_heads=2, mlp_dim=64, output_channels=16,
                image_size=128, patch_size=16, global_attn_indexes=[1], window_size=4, num_pos_feats=8,
            ).to_dict(),
            prompt_encoder_config=t.SamPromptEncoderConfig(
                hidden_size=16, image_size=128, patch_size=16, mask_input_channels=4
            ).to_dict(),
            mask_decoder_config=t.SamMaskDecoderConfig(
                hidden_size=16, num_hidden_layers=2, num_attention_heads=2, mlp_dim=32, iou_head_hidden_dim=16
            ).to_dict(),
        )  # fmt: skip
        model = t.SamModel(config)
        processor = t.SamImageProcessor(size={"longest_edge": 128}, pad_size={"height": 128, "width": 128})
    else:
        backbone = t.Sam2HieraDetConfig(
            hidden_size=8, image_size=128, patch_stride=4, patch_kernel_size=7, patch_padding=3,
            blocks_per_stage=[1, 1, 1, 1], embed_dim_per_stage=[8, 16, 32, 64],
            num_attention_heads_per_stage=[1, 1, 1, 1],
        )  # fmt: skip
        config = t.Sam2Config(
            vision_config=t.Sam2VisionConfig(
                backbone_config=backbone, backbone_channel_list=[64, 32, 16, 8],
                backbone_feature_sizes=[[32, 32], [16, 16], [8, 8]], fpn_hidden_size=16,
            ),
            prompt_encoder_config=t.Sam2PromptEncoderConfig(
                hidden_size=16, image_size=128, patch_size=16, mask_input_channels=4
            ),
            mask_decoder_config=t.Sam2MaskDecoderConfig(
                hidden_size=16, mlp_dim=32, num_attention_heads=2, iou_head_hidden_dim=16
            ),
        )  # fmt: skip
        model = t.Sam2Model(config)
        processor = t.Sam2ImageProcessor(size={"height": 128, "width": 128})
    folder.mkdir(parents=True, exist_ok=True)
    model.eval().save_pretrained(folder, safe_serialization=True)
    processor.save_pretrained(folder)
    return folder


def install_tiny_sam(store: Store, model_id: str = "sam-tiny-test", family: str = "sam") -> StoredModel:
    """Install a tiny model into ``store`` as the model manager would (engine, task, files)."""
    incoming = store.incoming(model_id)
    save_tiny_sam(incoming, family)
    files = tuple(
        StoredFile(p.name, p.stat().st_size, "0" * 64) for p in sorted(incoming.iterdir()) if p.is_file()
    )
    model = StoredModel(
        id=model_id,
        name=f"Tiny {family}",
        tasks=("segment",),
        engine="transformers",
        architecture=family,
        files=files,
        licence="Apache-2.0",
    )
    return store.install(model, incoming)
