"""wikikit: one YAML recipe -> a fine-tuned, evaluated, packaged wiki agent model."""

__version__ = "0.1.0"

from wikikit.vocab import ensure_offline_vocab as _ensure_offline_vocab

# Before openai-harmony or tiktoken is imported anywhere: never try to download the vocab.
_ensure_offline_vocab()
