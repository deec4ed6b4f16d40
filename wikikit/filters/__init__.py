"""Quality filters. Each filter judges one Example and returns None (keep) or a short reason.

    class Filter(Protocol):
        name: str
        def check(self, example: Example) -> str | None: ...

`build_filters(quality: dict, ctx)` returns the filters the recipe's `data.quality` asks for,
in order; the data stage counts each drop reason per source for quality.json and the report.
"""
