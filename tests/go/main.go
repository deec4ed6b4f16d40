// render_ollama_template renders an Ollama Modelfile TEMPLATE the way Ollama does: Go's
// text/template with missingkey=zero, Ollama's FuncMap (json, currentDate, yesterdayDate,
// toTypeScriptType) and the data shapes Ollama hands a template (template/template.go:
// System, Messages with Role/Content/Thinking/ToolCalls/ToolName, Tools, Think, ThinkLevel,
// IsThinkSet). Arguments and tool parameter maps print as JSON and range in sorted-key order,
// as Ollama's templateArgs/templateProperties do.
//
// Usage: render_ollama_template TEMPLATE_FILE < request.json > prompt.txt
// request.json: {"system": "<the Modelfile SYSTEM>", "messages": [...Ollama chat messages...], "tools": [...],
// "think": bool, "think_level": "high", "is_think_set": bool}. WIKIKIT_TEST_DATE overrides
// currentDate (the real function returns today's date).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"
	"time"
)

type PropertyType []string

func (pt *PropertyType) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*pt = []string{s}
		return nil
	}
	var a []string
	if err := json.Unmarshal(data, &a); err != nil {
		return err
	}
	*pt = a
	return nil
}

func (pt PropertyType) String() string {
	if len(pt) == 1 {
		return pt[0]
	}
	return fmt.Sprintf("%v", []string(pt))
}

type ToolProperty struct {
	AnyOf       []ToolProperty `json:"anyOf,omitempty"`
	Type        PropertyType   `json:"type,omitempty"`
	Items       any            `json:"items,omitempty"`
	Description string         `json:"description,omitempty"`
	Enum        []any          `json:"enum,omitempty"`
}

func mapType(t string) string {
	switch t {
	case "string":
		return "string"
	case "number", "integer":
		return "number"
	case "boolean":
		return "boolean"
	case "array":
		return "any[]"
	case "object":
		return "Record<string, any>"
	case "null":
		return "null"
	}
	return "any"
}

func (tp ToolProperty) ToTypeScriptType() string {
	if len(tp.AnyOf) > 0 {
		var types []string
		for _, a := range tp.AnyOf {
			types = append(types, a.ToTypeScriptType())
		}
		return strings.Join(types, " | ")
	}
	if len(tp.Type) == 0 {
		return "any"
	}
	var types []string
	for _, t := range tp.Type {
		types = append(types, mapType(t))
	}
	return strings.Join(types, " | ")
}

type templateProperties map[string]ToolProperty

func (t templateProperties) String() string {
	if t == nil {
		return "{}"
	}
	b, _ := json.Marshal(map[string]ToolProperty(t))
	return string(b)
}

type templateArgs map[string]any

func (t templateArgs) String() string {
	if t == nil {
		return "{}"
	}
	b, _ := json.Marshal(map[string]any(t))
	return string(b)
}

type Tool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Parameters  struct {
			Type       string             `json:"type"`
			Required   []string           `json:"required,omitempty"`
			Properties templateProperties `json:"properties"`
		} `json:"parameters"`
	} `json:"function"`
}

type ToolCall struct {
	ID       string `json:"id"`
	Function struct {
		Index     int          `json:"index"`
		Name      string       `json:"name"`
		Arguments templateArgs `json:"arguments"`
	} `json:"function"`
}

type Message struct {
	Role       string     `json:"role"`
	Content    string     `json:"content"`
	Thinking   string     `json:"thinking"`
	ToolCalls  []ToolCall `json:"tool_calls"`
	ToolName   string     `json:"tool_name"`
	ToolCallID string     `json:"tool_call_id"`
}

type Request struct {
	System     string    `json:"system"`
	Messages   []Message `json:"messages"`
	Tools      []Tool    `json:"tools"`
	Think      bool      `json:"think"`
	ThinkLevel string    `json:"think_level"`
	IsThinkSet bool      `json:"is_think_set"`
}

func today(offset int) string {
	if d := os.Getenv("WIKIKIT_TEST_DATE"); d != "" && offset == 0 {
		return d
	}
	return time.Now().AddDate(0, 0, offset).Format("2006-01-02")
}

var funcs = template.FuncMap{
	"json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
	"currentDate":   func(args ...string) string { return today(0) },
	"yesterdayDate": func(args ...string) string { return today(-1) },
	"toTypeScriptType": func(v any) string {
		if p, ok := v.(ToolProperty); ok {
			return p.ToTypeScriptType()
		}
		if p, ok := v.(*ToolProperty); ok && p != nil {
			return p.ToTypeScriptType()
		}
		return "any"
	},
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 2 {
		fail(fmt.Errorf("usage: %s TEMPLATE_FILE < request.json", os.Args[0]))
	}
	src, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail(err)
	}
	tmpl, err := template.New("").Option("missingkey=zero").Funcs(funcs).Parse(string(src))
	if err != nil {
		fail(err)
	}
	var req Request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fail(err)
	}
	// Ollama collates the request: system messages are joined into .System (the Modelfile's
	// SYSTEM when the request has none) and stay in .Messages; consecutive same-role messages
	// other than tool results merge.
	hasSystem := false
	for _, m := range req.Messages {
		hasSystem = hasSystem || m.Role == "system"
	}
	if !hasSystem && req.System != "" {
		req.Messages = append([]Message{{Role: "system", Content: req.System}}, req.Messages...)
	}
	var system []string
	var msgs []*Message
	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Role == "system" {
			system = append(system, m.Content)
		}
		if n := len(msgs); n > 0 && msgs[n-1].Role == m.Role && m.Role != "tool" {
			msgs[n-1].Content += "\n\n" + m.Content
		} else {
			msgs = append(msgs, m)
		}
	}
	sys := strings.Join(system, "\n\n")
	var tools []Tool
	if len(req.Tools) > 0 {
		tools = req.Tools
	}
	data := map[string]any{
		"System":     sys,
		"Messages":   msgs,
		"Tools":      tools,
		"Response":   "",
		"Think":      req.Think,
		"ThinkLevel": req.ThinkLevel,
		"IsThinkSet": req.IsThinkSet,
	}
	if err := tmpl.Execute(os.Stdout, data); err != nil {
		fail(err)
	}
}
