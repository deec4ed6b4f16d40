"""extract_mermaid_blocks: fences, line numbers, indentation, unterminated blocks (no Node needed)."""

from __future__ import annotations

from wikikit.mermaid import extract_mermaid_blocks


def test_backtick_and_tilde_fences_with_line_numbers():
    md = (
        '# Title\n\n```mermaid\ngraph TD\n  A-->B\n```\n\ntext\n\n~~~mermaid\npie\n  "a" : 1\n~~~\n'
    )
    blocks = extract_mermaid_blocks(md)
    assert [(b.line, b.end_line, b.text, b.unterminated) for b in blocks] == [
        (3, 6, "graph TD\n  A-->B", False),
        (10, 13, 'pie\n  "a" : 1', False),
    ]
    assert blocks[0].first_text_line == 4


def test_indented_fence_in_a_list_is_dedented_by_the_fence_indent():
    md = "1. Step one\n\n    ```mermaid\n    sequenceDiagram\n      A->>B: hi\n    ```\n"
    (block,) = extract_mermaid_blocks(md)
    assert block.line == 3
    assert block.text == "sequenceDiagram\n  A->>B: hi"


def test_other_languages_and_quoted_fences_are_not_diagrams():
    md = (
        "```python\nx = '```mermaid'\n```\n"
        "````markdown\n```mermaid\ngraph TD\n```\n````\n"
        "```mermaid title=Overview\nflowchart LR\n  A-->B\n```\n"
    )
    blocks = extract_mermaid_blocks(md)
    assert [(b.line, b.text) for b in blocks] == [(9, "flowchart LR\n  A-->B")]


def test_closing_fence_must_be_as_long_and_bare():
    md = "````mermaid\ngraph TD\n```\n  A-->B\n````\n"
    (block,) = extract_mermaid_blocks(md)
    assert block.text == "graph TD\n```\n  A-->B"
    assert block.end_line == 5


def test_unterminated_fence_runs_to_the_end():
    md = "intro\n```mermaid\ngraph TD\n  A-->B\n"
    (block,) = extract_mermaid_blocks(md)
    assert block.unterminated
    assert block.line == 2 and block.end_line == 4
    assert block.text == "graph TD\n  A-->B"


def test_empty_block_and_info_string_variants():
    md = "```mermaid\n```\n``` Mermaid\ngraph TD\n```\n```{mermaid}\npie\n```\n```mermaidjs\nx\n```\n"
    blocks = extract_mermaid_blocks(md)
    assert [(b.line, b.text) for b in blocks] == [(1, ""), (3, "graph TD"), (6, "pie")]


def test_blockquoted_fence():
    md = "> ```mermaid\n> graph TD\n>   A-->B\n> ```\n"
    (block,) = extract_mermaid_blocks(md)
    assert block.text == "graph TD\n  A-->B"
    assert not block.unterminated
