"""The report's package section: the GGUF, its checks, the Modelfile and artefacts with sha256,
from package/package.json."""

from __future__ import annotations

from wikikit.report.html import Raw, cards, code, esc, fmt_bytes, note, table
from wikikit.report.run_view import RunView, stage_banner


def section_package(view: RunView) -> Raw:
    p = view.json("package/package.json")
    entry = view.stage("package")
    files = entry.get("outputs") if isinstance(entry.get("outputs"), dict) else {}
    out = [stage_banner(view, "package", isinstance(p, dict) or bool(files))]
    if isinstance(p, dict):
        g = p.get("gguf") or {}
        mf = p.get("modelfile") or {}
        times = p.get("times") or {}
        out.append(
            cards(
                [
                    ("GGUF size", fmt_bytes(g.get("bytes"))),
                    ("type", g.get("quantize") or g.get("outtype")),
                    ("convert (s)", times.get("convert_s")),
                    ("total (s)", times.get("total_s")),
                ]
            )
        )
        rows = []
        if g:
            rows.append(
                [g.get("file", "model.gguf"), fmt_bytes(g.get("bytes")), code(g.get("sha256", ""))]
            )
        if mf:
            rows.append([mf.get("file", "Modelfile"), "", code(mf.get("sha256", ""))])
        if rows:
            out.append(table(["artefact", "size", "sha256"], rows, numeric=(1,)))
        ver = p.get("verification") or {}
        meta = ver.get("metadata") or {}
        greedy = ver.get("greedy")
        vrows = []
        if meta:
            vrows += [
                ["architecture", meta.get("architecture", "")],
                ["tensors", meta.get("tensor_count", "")],
                [
                    "tokenizer",
                    f"{meta.get('tokenizer_model', '')} / {meta.get('tokenizer_pre', '')}",
                ],
            ]
        if isinstance(greedy, dict):
            vrows.append(
                [
                    "greedy tokens, llama.cpp vs transformers",
                    f"{greedy.get('agreed_prefix', '?')} agreed ({greedy.get('required', '?')} required): {'ok' if greedy.get('ok') else 'MISMATCH'}",
                ]
            )
        elif greedy:
            vrows.append(["greedy check", greedy])
        if vrows:
            out.append("<h3>Verification</h3>" + table(["check", "result"], vrows))
        ol = p.get("ollama") or {}
        if ol:
            out.append("<h3>Ollama</h3>")
            if ol.get("created"):
                out.append(
                    note(
                        f"created {ol.get('name', '')} at {ol.get('host', '')} (digest {ol.get('digest', '')})",
                        "good",
                    )
                )
            else:
                out.append(
                    note(
                        f"not created in Ollama: {ol.get('unreachable') or 'package.ollama.create is off'}"
                    )
                )
            if ol.get("commands"):
                out.append(
                    "<p>To finish by hand:</p><pre>"
                    + esc("\n".join(map(str, ol["commands"])))
                    + "</pre>"
                )
    if files:
        out.append("<h3>Files (from manifest.json)</h3>")
        rows = [
            [
                rel,
                fmt_bytes(rec.get("size")),
                code(rec.get("sha256", "(not hashed: large file, size checked)")),
            ]
            for rel, rec in sorted(files.items())
        ]
        out.append(table(["file", "size", "sha256"], rows, numeric=(1,)))
    return Raw("".join(out))
