"""Segmentors: EncoderDecoder with abstention channels."""
from .abstention_encoder_decoder import AbstentionEncoderDecoder

__all__ = ['AbstentionEncoderDecoder']
