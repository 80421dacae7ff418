"""The two SignCLIP towers (MMPT `MMFusionSeparate`) on plain `transformers.BertModel`s, and their pooling.

Video: features (T, 609) -> `videomlp` -> `[CLS] frames [SEP]` as input embeddings of a BERT encoder, with
`[CLS]`/`[SEP]` taken from the video tower's own word embeddings. Text: `[CLS] pieces [SEP]` through a second,
unshared BERT. Both embeddings are the mean of the last hidden states over every attended token except `[CLS]`
(the final `[SEP]` counts); no projection, no normalisation, similarity is the raw dot product.

Batches are padded and the padding is masked out of attention and pooling, so an input's embedding does not
depend on what it is batched with (the original `embed_pose` did not mask, see the spec's edge cases).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import BertConfig, BertModel

FEATURE_DIM = 609
MAX_VIDEO_LEN = 256


class VideoTokenMLP(nn.Module):
    """MMPT `VideoTokenMLP`: Linear, exact GELU, LayerNorm with torch's default eps 1e-5 (not BERT's), Linear."""

    def __init__(self, in_dim: int, hidden: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(in_dim, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=1e-5)
        self.linear2 = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.LayerNorm(F.gelu(self.linear1(x))))


@dataclass
class BertInputs:
    """What a tower's BERT is fed: (B, L, H) embeddings or (B, L) ids, positions and attention mask."""

    position_ids: torch.Tensor | None
    attention_mask: torch.Tensor
    inputs_embeds: torch.Tensor | None = None
    input_ids: torch.Tensor | None = None


class SignCLIPModel(nn.Module):
    def __init__(
        self,
        config: BertConfig,
        video_layers: int,
        *,
        in_dim: int = FEATURE_DIM,
        max_video_len: int = MAX_VIDEO_LEN,
        cls_id: int = 101,
        sep_id: int = 102,
    ) -> None:
        super().__init__()
        # MMPT pads every video to max_video_len and puts [SEP] after the padding, i.e. at position M + 1.
        if max_video_len + 2 > config.max_position_embeddings:
            raise ValueError(
                f"max_video_len {max_video_len} needs {max_video_len + 2} positions; "
                f"the model has {config.max_position_embeddings}"
            )
        video_config = copy.deepcopy(config)
        video_config.num_hidden_layers = video_layers
        self.videomlp = VideoTokenMLP(in_dim, config.hidden_size)
        self.video_bert = BertModel(video_config, add_pooling_layer=False)
        self.text_bert = BertModel(config, add_pooling_layer=False)
        self.in_dim, self.max_video_len = in_dim, max_video_len
        self.cls_id, self.sep_id = cls_id, sep_id

    @property
    def dim(self) -> int:
        return self.videomlp.linear2.out_features

    def video_inputs(self, features: torch.Tensor, lengths: torch.Tensor) -> BertInputs:
        """`[CLS] f_1..f_T [SEP]` for (B, T, in_dim) zero-padded features with `lengths` (B,) valid frames each."""
        batch, frames, _ = features.shape
        words = self.video_bert.embeddings.word_embeddings.weight
        ends = [words[i].expand(batch, 1, -1) for i in (self.cls_id, self.sep_id)]
        embeds = torch.cat([ends[0], self.videomlp(features), ends[1]], dim=1)
        positions = torch.arange(frames + 2, device=features.device)
        positions[-1] = self.max_video_len + 1
        valid = torch.arange(frames, device=features.device)[None, :] < lengths[:, None]
        edge = torch.ones(batch, 1, dtype=torch.long, device=features.device)
        mask = torch.cat([edge, valid.long(), edge], dim=1)
        return BertInputs(position_ids=positions.expand(batch, -1), attention_mask=mask, inputs_embeds=embeds)

    def video_hidden(self, features: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(last hidden states (B, T+2, H), attention mask (B, T+2))."""
        return self._run(self.video_bert, self.video_inputs(features, lengths))

    def embed_video(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return pool(*self.video_hidden(features, lengths))

    def text_hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`input_ids` are `[CLS] pieces [SEP]` + `[PAD]`s; positions are the default 0..L-1."""
        return self._run(self.text_bert, BertInputs(None, attention_mask, input_ids=input_ids))

    def embed_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return pool(*self.text_hidden(input_ids, attention_mask))

    @staticmethod
    def _run(bert: BertModel, inputs: BertInputs) -> tuple[torch.Tensor, torch.Tensor]:
        mask = inputs.attention_mask
        out = bert(
            input_ids=inputs.input_ids,
            inputs_embeds=inputs.inputs_embeds,
            position_ids=inputs.position_ids,
            attention_mask=mask,
            token_type_ids=torch.zeros_like(mask),
        )
        return out.last_hidden_state, mask


def pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the attended tokens after `[CLS]` (frames or pieces, plus the final `[SEP]`)."""
    weights = mask.clone()
    weights[:, 0] = 0
    weights = weights.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1)
