"""Symbol extraction with exact line ranges: Python (ast) and tree-sitter languages."""

from __future__ import annotations

from wikikit.code.symbols import Symbol, extract_symbols, supported_languages


def _table(symbols: list[Symbol]) -> list[tuple]:
    return [(s.kind, s.qualname, s.start, s.end) for s in symbols]


PY = '''\
"""Module doc."""
import functools


@functools.cache
def load(path):
    """Load a file.

    :param path: where
    """
    return open(path).read()


class Store:
    """Keeps values."""

    def get(self, key):
        return self.d[key]

    class Inner:
        pass


if True:
    def guarded():
        pass
'''


def test_python_symbols_with_decorators_and_docs() -> None:
    syms = extract_symbols("m.py", PY, "python")
    assert _table(syms) == [
        ("function", "load", 5, 11),
        ("class", "Store", 14, 21),
        ("method", "Store.get", 17, 18),
        ("class", "Store.Inner", 20, 21),
        ("function", "guarded", 25, 26),
    ]
    load = syms[0]
    assert load.doc.startswith("Load a file.") and ":param path:" in load.doc
    assert load.signature == "def load(path):"
    assert syms[1].doc == "Keeps values." and syms[2].doc is None
    assert extract_symbols("bad.py", "def (:\n", "python") == []


TS = """\
import { x } from "./x";

/** Greets someone. */
export function greet(name: string): string {
  return `hi ${name}`;
}

export const add = (a: number, b: number): number => a + b;

/**
 * A typed store.
 * @param T value type
 */
export class Store<T> {
  /** Reads a key. */
  get(key: string): T {
    return this.m[key];
  }
}

export interface Options {
  verbose: boolean;
}
"""

GO = """\
package server

// Server answers requests.
type Server struct {
\tAddr string
}

// Run starts the server.
func (s *Server) Run() error {
\treturn nil
}

func New(addr string) *Server {
\treturn &Server{Addr: addr}
}
"""

JAVA = """\
package demo;

/**
 * Keeps accounts.
 */
public class Bank {
    /** Opens one. */
    @Deprecated
    public Account open(String name) {
        return new Account(name);
    }
}
"""

RUST = """\
/// A point in the plane.
#[derive(Debug, Clone)]
pub struct Point {
    x: i32,
}

impl Point {
    /// Makes the origin.
    pub fn origin() -> Self {
        Point { x: 0 }
    }
}

pub trait Shape {
    fn area(&self) -> f64;
}
"""

C = """\
/* Adds two numbers. */
int add(int a, int b) {
    return a + b;
}

struct pair { int a; int b; };
"""

CPP = """\
namespace geo {
// Widget draws.
class Widget {
 public:
  int size() const { return 1; }
};
}
int geo::Widget::area() const { return 2; }
"""

CSHARP = """\
namespace Demo {
    /// <summary>Greets people.</summary>
    public class Greeter {
        /// <summary>Says hi.</summary>
        public string Hi(string n) { return n; }
    }
}
"""


def test_typescript() -> None:
    syms = extract_symbols("src/store.ts", TS, "typescript")
    assert _table(syms) == [
        ("function", "greet", 4, 6),
        ("function", "add", 8, 8),
        ("class", "Store", 14, 19),
        ("method", "Store.get", 16, 18),
        ("interface", "Options", 21, 23),
    ]
    by = {s.qualname: s for s in syms}
    assert by["greet"].doc == "Greets someone."
    assert by["Store"].doc.startswith("A typed store.")
    assert by["Store.get"].doc == "Reads a key."
    assert by["add"].doc is None
    # .tsx files use the TSX grammar
    tsx = extract_symbols("a.tsx", "export function App() {\n  return <div/>;\n}\n", "typescript")
    assert _table(tsx) == [("function", "App", 1, 3)]


def test_javascript() -> None:
    js = "// Sum.\nfunction sum(a, b) {\n  return a + b;\n}\nclass A {\n  m() {}\n}\n"
    assert _table(extract_symbols("a.js", js, "javascript")) == [
        ("function", "sum", 2, 4),
        ("class", "A", 5, 7),
        ("method", "A.m", 6, 6),
    ]


def test_go() -> None:
    syms = extract_symbols("server.go", GO, "go")
    assert _table(syms) == [
        ("struct", "Server", 4, 6),
        ("method", "Server.Run", 9, 11),
        ("function", "New", 13, 15),
    ]
    assert syms[0].doc == "Server answers requests." and syms[1].doc == "Run starts the server."


def test_java() -> None:
    syms = extract_symbols("Bank.java", JAVA, "java")
    assert _table(syms) == [("class", "Bank", 6, 12), ("method", "Bank.open", 8, 11)]
    assert syms[0].doc == "Keeps accounts." and syms[1].doc == "Opens one."
    assert syms[1].signature == "public Account open(String name) {"


def test_rust() -> None:
    syms = extract_symbols("lib.rs", RUST, "rust")
    assert _table(syms) == [
        ("struct", "Point", 3, 5),
        ("impl", "Point", 7, 12),
        ("method", "Point.origin", 9, 11),
        ("trait", "Shape", 14, 16),
        ("method", "Shape.area", 15, 15),
    ]
    assert syms[0].doc == "A point in the plane."  # across the #[derive] attribute
    assert syms[2].doc == "Makes the origin."


def test_c_cpp_csharp() -> None:
    assert _table(extract_symbols("a.c", C, "c")) == [
        ("function", "add", 2, 4),
        ("struct", "pair", 6, 6),
    ]
    assert extract_symbols("a.c", C, "c")[0].doc == "Adds two numbers."
    assert _table(extract_symbols("w.cpp", CPP, "cpp")) == [
        ("class", "Widget", 3, 6),
        ("method", "Widget.size", 5, 5),
        ("method", "Widget.area", 8, 8),
    ]
    cs = extract_symbols("G.cs", CSHARP, "csharp")
    assert _table(cs) == [("class", "Greeter", 3, 6), ("method", "Greeter.Hi", 5, 5)]
    assert cs[0].doc == "Greets people." and cs[1].doc == "Says hi."


def test_every_symbol_name_is_inside_its_range() -> None:
    cases = [
        ("m.py", PY, "python"),
        ("a.ts", TS, "typescript"),
        ("s.go", GO, "go"),
        ("B.java", JAVA, "java"),
        ("l.rs", RUST, "rust"),
        ("a.c", C, "c"),
        ("w.cpp", CPP, "cpp"),
        ("G.cs", CSHARP, "csharp"),
    ]
    for path, text, lang in cases:
        lines = text.split("\n")
        syms = extract_symbols(path, text, lang)
        assert syms, path
        for s in syms:
            assert 1 <= s.start <= s.end <= len(lines)
            assert s.name in "\n".join(lines[s.start - 1 : s.end]), (path, s)
        assert syms == extract_symbols(path, text, lang)  # deterministic


def test_supported_languages() -> None:
    assert set(supported_languages()) >= {
        "python",
        "typescript",
        "javascript",
        "go",
        "java",
        "rust",
        "c",
        "cpp",
        "csharp",
    }
    assert extract_symbols("x.kt", "fun main() {}", "kotlin") == []
