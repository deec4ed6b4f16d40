"""Synthetic data distilled from a teacher model: planning, prompts and one generator per
category. The source kind `synthetic` (wikikit.data.sources.synthetic) drives it."""
