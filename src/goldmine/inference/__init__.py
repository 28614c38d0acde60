"""Inference: Fisher information, expected limits and HistFactory models."""
