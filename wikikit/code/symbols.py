"""Symbols (functions, classes, methods, types) with their exact line ranges, from a real parser.

Python is parsed with the standard library's `ast`; TypeScript/JavaScript, Go, Java, Rust, C,
C++ and C# with tree-sitter. A symbol's range is 1-based and inclusive and starts at its
decorators / `export` keyword, so a reference to it shows the whole definition. Doc text comes
from the docstring (Python) or the comment block directly above the definition.

`extract_symbols` expects text with `\\n` line breaks (what `Repo.read_text` returns), so line
numbers agree with the file as editors and GitHub show it.
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
from dataclasses import dataclass
from typing import Any

# Kinds that contain other symbols; a function inside one of them is a method.
CONTAINER_KINDS = frozenset({"class", "interface", "struct", "trait", "impl", "enum", "record"})


@dataclass(frozen=True)
class Symbol:
    name: str
    kind: str  # function, method, constructor, class, interface, struct, enum, trait, impl, type, record
    start: int  # 1-based, inclusive (decorators / export keyword included)
    end: int  # 1-based, inclusive
    doc: str | None  # docstring or doc comment, markers stripped
    parent: str | None  # enclosing class / impl / interface name
    signature: str  # first line of the definition itself, stripped

    @property
    def qualname(self) -> str:
        return f"{self.parent}.{self.name}" if self.parent else self.name

    @property
    def docstring(self) -> str | None:
        return self.doc

    @property
    def line_count(self) -> int:
        return self.end - self.start + 1


def extract_symbols(path: str, text: str, language: str) -> list[Symbol]:
    """Symbols defined in one file, ordered by (start, end, name); [] if it does not parse."""
    if language == "python":
        symbols = _python_symbols(text)
    else:
        parser = _parser(language, path.lower().endswith(".tsx"))
        if parser is None:
            return []
        symbols = _TreeSitterExtractor(language, text).run(parser)
    return sorted(symbols, key=lambda s: (s.start, s.end, s.name, s.kind))


def supported_languages() -> list[str]:
    return ["python", *sorted(lang for lang in _GRAMMARS if _parser(lang, False) is not None)]


# -- Python (ast) ----------------------------------------------------------------------------


def _python_symbols(text: str) -> list[Symbol]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    lines = text.split("\n")
    out: list[Symbol] = []

    def visit(body: list[ast.stmt], parent: str | None) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                is_class = isinstance(node, ast.ClassDef)
                kind = "class" if is_class else ("method" if parent else "function")
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                out.append(
                    Symbol(
                        name=node.name,
                        kind=kind,
                        start=start,
                        end=node.end_lineno or node.lineno,
                        doc=_clean_doc(ast.get_docstring(node)),
                        parent=parent,
                        signature=lines[node.lineno - 1].strip(),
                    )
                )
                if is_class:
                    visit(node.body, node.name)
            elif isinstance(node, ast.If | ast.Try | ast.With):
                # Definitions guarded by `if TYPE_CHECKING:` / `try: ... except ImportError:`.
                for block in ("body", "orelse", "finalbody"):
                    visit(getattr(node, block, []) or [], parent)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body, parent)

    visit(tree.body, None)
    return out


# -- tree-sitter -----------------------------------------------------------------------------

# language -> (module, function returning the grammar)
_GRAMMARS = {
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "javascript": ("tree_sitter_javascript", "language"),
    "go": ("tree_sitter_go", "language"),
    "java": ("tree_sitter_java", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "csharp": ("tree_sitter_c_sharp", "language"),
}

_JS_KINDS = {
    "function_declaration": "function",
    "generator_function_declaration": "function",
    "class_declaration": "class",
    "abstract_class_declaration": "class",
    "method_definition": "method",
    "abstract_method_signature": "method",
    "method_signature": "method",
    "interface_declaration": "interface",
    "type_alias_declaration": "type",
    "enum_declaration": "enum",
    "variable_declarator": "function",  # only `const f = () => ...` / `= function ...`
}
# Node type -> kind, per language.
_KINDS: dict[str, dict[str, str]] = {
    "typescript": _JS_KINDS,
    "javascript": _JS_KINDS,
    "go": {
        "function_declaration": "function",
        "method_declaration": "method",
        "type_spec": "type",  # refined to struct / interface below
        "method_elem": "method",
    },
    "java": {
        "class_declaration": "class",
        "interface_declaration": "interface",
        "enum_declaration": "enum",
        "record_declaration": "record",
        "annotation_type_declaration": "interface",
        "method_declaration": "method",
        "constructor_declaration": "constructor",
    },
    "csharp": {
        "class_declaration": "class",
        "interface_declaration": "interface",
        "struct_declaration": "struct",
        "enum_declaration": "enum",
        "record_declaration": "record",
        "method_declaration": "method",
        "constructor_declaration": "constructor",
    },
    "rust": {
        "function_item": "function",
        "function_signature_item": "method",
        "struct_item": "struct",
        "enum_item": "enum",
        "trait_item": "trait",
        "impl_item": "impl",
        "type_item": "type",
    },
    "c": {
        "function_definition": "function",
        "struct_specifier": "struct",
        "union_specifier": "struct",
        "enum_specifier": "enum",
    },
    "cpp": {
        "function_definition": "function",
        "class_specifier": "class",
        "struct_specifier": "struct",
        "union_specifier": "struct",
        "enum_specifier": "enum",
    },
}
# Wrappers whose start line (export keyword, template header) belongs to the definition.
_WRAPPERS = frozenset({"export_statement", "template_declaration", "decorated_definition"})
_COMMENT_TYPES = frozenset({"comment", "line_comment", "block_comment"})
_FUNCTION_VALUES = frozenset(
    {"arrow_function", "function_expression", "function", "generator_function"}
)
_C_NAME_TYPES = frozenset(
    {"identifier", "field_identifier", "qualified_identifier", "destructor_name", "operator_name"}
)
_IDENT_RE = re.compile(r"[A-Za-z_$][\w$]*")


def tree_sitter_parser(language: str, path: str = "") -> Any:
    """A tree-sitter parser for `language` (Python included), or None without its grammar.

    For callers that need the syntax tree itself (call sites, fill-in-the-middle spans).
    """
    if language == "python":
        return _python_tree_sitter_parser()
    return _parser(language, path.lower().endswith(".tsx"))


@functools.cache
def _python_tree_sitter_parser() -> Any:
    try:
        import tree_sitter_python
        from tree_sitter import Language, Parser

        return Parser(Language(tree_sitter_python.language()))
    except (ImportError, AttributeError, ValueError):
        return None


@functools.cache
def _parser(language: str, tsx: bool) -> Any:
    key = "tsx" if tsx and language == "typescript" else language
    if key not in _GRAMMARS:
        return None
    module_name, func = _GRAMMARS[key]
    try:
        from tree_sitter import Language, Parser

        module = importlib.import_module(module_name)
        return Parser(Language(getattr(module, func)()))
    except (ImportError, AttributeError, ValueError):
        return None


class _TreeSitterExtractor:
    def __init__(self, language: str, text: str):
        self.language = language
        self.kinds = _KINDS[language]
        self.source = text.encode("utf-8")
        self.lines = text.split("\n")
        self.out: list[Symbol] = []

    def run(self, parser: Any) -> list[Symbol]:
        tree = parser.parse(self.source)
        self._walk(tree.root_node, None)
        return self.out

    def _text(self, node: Any) -> str:
        return self.source[node.start_byte : node.end_byte].decode("utf-8", errors="replace")

    def _walk(self, node: Any, parent: str | None) -> None:
        for child in node.named_children:
            symbol = self._symbol(child, parent)
            if symbol is None:
                # Not a definition: look inside (export, namespace, module, declaration lists),
                # but never inside function bodies.
                if child.type not in ("statement_block", "block", "compound_statement"):
                    self._walk(child, parent)
                continue
            self.out.append(symbol)
            if symbol.kind in CONTAINER_KINDS:
                self._walk(child, symbol.name)

    def _symbol(self, node: Any, parent: str | None) -> Symbol | None:
        kind = self.kinds.get(node.type)
        if kind is None:
            return None
        name, kind, parent = self._name_kind_parent(node, kind, parent)
        if not name:
            return None
        anchor = self._anchor(node)
        if kind == "function" and parent is not None:
            kind = "method"
        start = anchor.start_point.row + 1
        end = _end_row(node) + 1
        return Symbol(
            name=name,
            kind=kind,
            start=start,
            end=max(end, start),
            doc=self._doc(anchor),
            parent=parent,
            signature=self._signature(node),
        )

    def _signature(self, node: Any) -> str:
        """The declaration line, past annotations/attributes at the node's start."""
        for row in range(node.start_point.row, _end_row(node) + 1):
            line = self.lines[row].strip()
            if line and not line.startswith(("@", "#[", "//", "/*", "*")):
                return line
        return self.lines[node.start_point.row].strip()

    def _name_kind_parent(
        self, node: Any, kind: str, parent: str | None
    ) -> tuple[str | None, str, str | None]:
        t = node.type
        if t == "variable_declarator":
            value = node.child_by_field_name("value")
            if value is None or value.type not in _FUNCTION_VALUES:
                return None, kind, parent
        if self.language == "go":
            if t == "method_declaration":
                receiver = node.child_by_field_name("receiver")
                idents = _IDENT_RE.findall(self._text(receiver)) if receiver else []
                # `(s *Server)` → Server; `(Server)` → Server
                parent = idents[-1] if idents else parent
            elif t == "type_spec":
                type_node = node.child_by_field_name("type")
                if type_node is not None and type_node.type == "struct_type":
                    kind = "struct"
                elif type_node is not None and type_node.type == "interface_type":
                    kind = "interface"
        if self.language == "rust" and t == "impl_item":
            type_node = node.child_by_field_name("type")
            m = _IDENT_RE.search(self._text(type_node)) if type_node else None
            return (m.group(0) if m else None), kind, parent
        if self.language in ("c", "cpp"):
            if t == "function_definition":
                return self._c_function_name(node, parent)
            if node.child_by_field_name("body") is None:
                return None, kind, parent  # `struct point p;` declares, does not define
            name_node = node.child_by_field_name("name")
            if (
                name_node is None
                and node.parent is not None
                and node.parent.type == "type_definition"
            ):
                decl = node.parent.child_by_field_name("declarator")
                return (self._text(decl) if decl else None), kind, parent
            return (self._text(name_node) if name_node else None), kind, parent
        name_node = node.child_by_field_name("name")
        if name_node is None:
            return None, kind, parent
        return self._text(name_node), kind, parent

    def _c_function_name(self, node: Any, parent: str | None) -> tuple[str | None, str, str | None]:
        decl = node.child_by_field_name("declarator")
        while decl is not None and decl.type not in _C_NAME_TYPES:
            nxt = decl.child_by_field_name("declarator")
            if nxt is None:
                nxt = next((c for c in decl.named_children if c.type in _C_NAME_TYPES), None)
            decl = nxt
        if decl is None:
            return None, "function", parent
        if decl.type == "qualified_identifier":
            # `int ns::Widget::size()` → name size, parent Widget (the enclosing class)
            parts = [p.strip() for p in self._text(decl).split("::")]
            if parent is None and len(parts) > 1 and parts[-2]:
                parent = parts[-2]
            return parts[-1], "function", parent
        return self._text(decl), "function", parent

    def _anchor(self, node: Any) -> Any:
        """The outermost node that still belongs to this definition (export, declaration)."""
        anchor = node
        if node.type == "variable_declarator" and node.parent is not None:
            anchor = node.parent  # lexical_declaration / variable_declaration
        parent = node.parent
        if (
            self.language == "go"
            and node.type == "type_spec"
            and parent is not None
            and parent.type == "type_declaration"
            and parent.named_child_count == 1
        ):
            anchor = parent
        while anchor.parent is not None and anchor.parent.type in _WRAPPERS:
            anchor = anchor.parent
        return anchor

    def _doc(self, anchor: Any) -> str | None:
        """The comment block directly above the definition (no blank line between)."""
        comments: list[Any] = []
        expected_end = anchor.start_point.row - 1
        sib = anchor.prev_named_sibling
        while sib is not None:
            if sib.type == "attribute_item":  # Rust #[derive(...)] between doc and item
                expected_end = sib.start_point.row - 1
            elif sib.type in _COMMENT_TYPES and _end_row(sib) == expected_end:
                comments.append(sib)
                expected_end = sib.start_point.row - 1
            else:
                break
            sib = sib.prev_named_sibling
        if not comments:
            return None
        raw = "\n".join(self._text(c) for c in reversed(comments))
        return _clean_doc(_strip_comment_markers(raw))


def _end_row(node: Any) -> int:
    """Last line a node occupies (a node ending at column 0 ended on the line before)."""
    row, col = node.end_point.row, node.end_point.column
    return row - 1 if col == 0 and row > node.start_point.row else row


def _strip_comment_markers(raw: str) -> str:
    out = []
    for line in raw.split("\n"):
        s = line.strip()
        s = re.sub(r"^/\*+!?", "", s)
        s = re.sub(r"\*+/$", "", s)
        s = re.sub(r"^(///?!?|//)", "", s)
        s = re.sub(r"^\*(?!\*)", "", s)
        out.append(s.strip())
    text = "\n".join(out)
    text = re.sub(r"</?(summary|remarks|returns|para|c|code)>", "", text)  # C# XML doc
    text = re.sub(r'<(see|seealso|paramref|typeparamref)\s+\w+="([^"]*)"\s*/>', r"`\2`", text)
    return text


def _clean_doc(doc: str | None) -> str | None:
    """Stripped doc text; a licence header above the first definition is not its doc."""
    if not doc:
        return None
    doc = doc.strip()
    if not doc or re.search(
        r"copyright \(c\)|copyright \d{4}|spdx-license-identifier", doc[:300], re.I
    ):
        return None
    return doc
