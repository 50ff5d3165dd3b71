"""Lowering of graphs to numpy source."""
from graphc.lower.codegen import Program, generate, sanitize

__all__ = ["Program", "generate", "sanitize"]
